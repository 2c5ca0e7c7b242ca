/*
 * keys.c: what the audit chain commits to outside itself and what it lets
 * go (aim-audit(1) "Checkpoints", "Retention"): the Ed25519 signing keys,
 * signed checkpoints of the head, and pruning old day directories behind
 * a prune entry.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "chain-int.h"

/* ---- keys and checkpoints ---- */

char *
aim_audit_key_path(void)
{
	const char *env = getenv("AIM_AUDIT_KEY");

	if (env != NULL && *env != '\0')
		return aim_abspath(env, NULL);
	return aim_xdg_path("XDG_DATA_HOME", ".local/share", "audit.key");
}

int
aim_audit_keygen(const char *seckey_path, char **pubhex, char **why)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *sk;
	char *dir, pubpath[PATH_MAX], hex[2 * crypto_sign_SECRETKEYBYTES + 1];
	char line[2 * crypto_sign_SECRETKEYBYTES + 64];
	struct aim_write_fail f;
	int rc = -1;

	if (sodium_init() < 0)
		return aim_chain_why(why, "can't initialise libsodium");
	if (snprintf(pubpath, sizeof(pubpath), "%s.pub", seckey_path) >=
	    (int)sizeof(pubpath)) {
		errno = ENAMETOOLONG;
		return aim_chain_why(why, "can't use %s: %s", seckey_path,
		    strerror(errno));
	}
	if (aim_mkdirs_parent(seckey_path, &dir) == -1) {
		aim_chain_why(why, "can't create %s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	if ((sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL)
		return aim_chain_why(why, "out of secure memory");
	crypto_sign_keypair(pk, sk);
	aim_hex(sk, crypto_sign_SECRETKEYBYTES, hex);
	snprintf(line, sizeof(line), "aim-audit secret key 1\n%s\n", hex);
	if (aim_write_file_new(seckey_path, line, strlen(line), 0600, 0,
	    &f) == -1) {
		aim_chain_why(why, "can't %s %s: %s",
		    f.step == AIM_WRITE_CREATE ?
		    "create" : "write", seckey_path, strerror(errno));
		goto out;
	}
	aim_hex(pk, sizeof(pk), hex);
	snprintf(line, sizeof(line), "aim-audit public key 1\n%s\n", hex);
	if (aim_write_file_new(pubpath, line, strlen(line), 0644,
	    AIM_WRITE_UMASK, NULL) == -1) {
		/* Nothing of ours is left at pubpath: someone's is kept. */
		aim_chain_why(why, "can't write %s: %s", pubpath,
		    strerror(errno));
		unlink(seckey_path);
		goto out;
	}
	*pubhex = aim_xstrdup(hex);
	rc = 0;
out:
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(line, sizeof(line));
	sodium_free(sk);
	return rc;
}

/* Read "aim-audit <what> key 1\n<hex>\n" of n bytes into out. */
static int
read_key(const char *path, const char *what, unsigned char *out, size_t n,
    char **why)
{
	char *buf = NULL, head[64];
	size_t len, hl;
	int rc = -1;

	if (aim_read_file(AT_FDCWD, path, AIM_READ_NOFOLLOW,
	    AIM_CHAIN_ENTRY_MAX_BYTES, &buf, &len) == -1)
		return aim_chain_why(why, "can't read %s: %s", path,
		    strerror(errno));
	hl = (size_t)snprintf(head, sizeof(head), "aim-audit %s key 1\n", what);
	errno = EINVAL;
	if (len != hl + 2 * n + 1 || strncmp(buf, head, hl) != 0 ||
	    buf[len - 1] != '\n')
		aim_chain_why(why, "%s: not an aim-audit %s key", path, what);
	else {
		buf[len - 1] = '\0';
		if (aim_unhex(buf + hl, out, n) == -1)
			aim_chain_why(why, "%s: not an aim-audit %s key", path,
			    what);
		else
			rc = 0;
	}
	sodium_memzero(buf, len);
	free(buf);
	return rc;
}

int
aim_audit_pubkey_read(const char *path, unsigned char pk[AIM_PUBKEY_BYTES],
    char **why)
{
	return read_key(path, "public", pk, AIM_PUBKEY_BYTES, why);
}

char *
aim_checkpoint_make(const char *dir, const char *seckey_path, char **why)
{
	struct aim_chain c;
	unsigned char *sk, sig[crypto_sign_BYTES], pk[crypto_sign_PUBLICKEYBYTES];
	char iso[32], hex[AIM_HASH_HEX_BYTES + 1], pkhex[65], sighex[129];
	char *body, *out;
	int64_t seq;
	char *pwhy = NULL;

	if (sodium_init() < 0) {
		aim_chain_why(why, "can't initialise libsodium");
		return NULL;
	}
	if (aim_private_file(seckey_path, "key file", &pwhy) == -1) {
		errno = EACCES;
		aim_chain_why(why, "%s", pwhy ? pwhy : "unsafe key file");
		free(pwhy);
		return NULL;
	}
	free(pwhy);
	if ((sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL) {
		aim_chain_why(why, "out of secure memory");
		return NULL;
	}
	if (read_key(seckey_path, "secret", sk, crypto_sign_SECRETKEYBYTES,
	    why) == -1) {
		sodium_free(sk);
		return NULL;
	}
	if (aim_chain_open(&c, dir, why) == -1 ||
	    aim_chain_lock(&c, 1, why) == -1) {
		aim_chain_close(&c);
		sodium_free(sk);
		return NULL;
	}
	seq = c.seq;
	aim_hex(c.hash, AIM_HASH_BYTES, hex);
	aim_chain_unlock(&c);
	aim_chain_close(&c);
	aim_utc_stamp(iso, NULL, NULL);
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	aim_hex(pk, sizeof(pk), pkhex);
	if (asprintf(&body, "aim-audit checkpoint 1\ndirectory %s\nseq %lld\n"
	    "head %s\ntime %s\nkey %s\n", dir, (long long)seq, hex, iso,
	    pkhex) == -1)
		body = NULL;
	if (body == NULL) {
		sodium_free(sk);
		aim_chain_why(why, "out of memory");
		return NULL;
	}
	crypto_sign_detached(sig, NULL, (unsigned char *)body, strlen(body), sk);
	sodium_free(sk);
	aim_hex(sig, sizeof(sig), sighex);
	if (asprintf(&out, "%ssignature %s\n", body, sighex) == -1)
		out = NULL;
	free(body);
	if (out == NULL)
		aim_chain_why(why, "out of memory");
	return out;
}

static int
checkpoint_parse(const char *text, const unsigned char pk[AIM_PUBKEY_BYTES],
    struct aim_checkpoint *cp, char **why)
{
	unsigned char sig[crypto_sign_BYTES], kpk[AIM_PUBKEY_BYTES];
	char dir[PATH_MAX], hex[80], tstr[40], key[80], sighex[160];
	const char *sigline;
	long long seq;
	int n = 0;

	if ((sigline = strstr(text, "signature ")) == NULL ||
	    (sigline != text && sigline[-1] != '\n'))
		return aim_chain_why(why, "not an aim-audit checkpoint");
	if (sscanf(text, "aim-audit checkpoint 1\ndirectory %4095[^\n]\n"
	    "seq %lld\nhead %79s\ntime %39s\nkey %79s\n%n", dir, &seq, hex,
	    tstr, key, &n) != 5 || text + n != sigline || seq < 0 ||
	    aim_unhex(hex, cp->hash, AIM_HASH_BYTES) == -1 ||
	    aim_unhex(key, kpk, sizeof(kpk)) == -1 ||
	    sscanf(sigline, "signature %159s", sighex) != 1 ||
	    aim_unhex(sighex, sig, sizeof(sig)) == -1)
		return aim_chain_why(why, "not an aim-audit checkpoint");
	cp->seq = seq;
	snprintf(cp->time, sizeof(cp->time), "%s", tstr);
	if (sodium_memcmp(kpk, pk, sizeof(kpk)) != 0 ||
	    crypto_sign_verify_detached(sig, (const unsigned char *)text,
	    (size_t)(sigline - text), pk) != 0)
		return aim_chain_why(why,
		    "bad signature: not signed by the key "
		    "given");
	return 0;
}

int
aim_checkpoint_parse(const char *text, size_t len,
    const unsigned char pk[AIM_PUBKEY_BYTES], struct aim_checkpoint *cp,
    char **why)
{
	char *copy;
	int rc;

	memset(cp, 0, sizeof(*cp));
	if (memchr(text, '\0', len) != NULL)
		return aim_chain_why(why, "not an aim-audit checkpoint");
	/* strstr(3) and sscanf(3) need a string: len bytes are not one. */
	copy = aim_xmalloc(len + 1);
	memcpy(copy, text, len);
	copy[len] = '\0';
	rc = checkpoint_parse(copy, pk, cp, why);
	free(copy);
	return rc;
}

int
aim_checkpoint_read(const char *path, const unsigned char pk[AIM_PUBKEY_BYTES],
    struct aim_checkpoint *cp, char **why)
{
	char *buf;
	size_t len;
	int rc;

	if (aim_read_file(AT_FDCWD, path, AIM_READ_NOFOLLOW,
	    AIM_CHAIN_ENTRY_MAX_BYTES, &buf, &len) == -1)
		return aim_chain_why(why, "can't read: %s", strerror(errno));
	rc = aim_checkpoint_parse(buf, len, pk, cp, why);
	free(buf);
	return rc;
}

/* ---- prune ---- */

/*
 * Append the prune entry (aim-audit(1) "Retention") committing to top,
 * the newest chained entry that goes, with hex its hash; under c's
 * exclusive lock.  Its path goes to report's "entry".  0, or -1 with *why.
 */
static int
prune_entry(struct aim_chain *c, const struct aim_scan_entry *top,
    const char *hex, json_t *deleted, size_t n, int64_t days,
    const char *cutoff, json_t *report, char **why)
{
	json_t *entry;
	char *epath;

	entry = json_object();
	json_object_set_new(entry, "timestamp", json_string(""));
	json_object_set_new(entry, "kind", json_string("prune"));
	json_object_set_new(entry, "actor", aim_chain_actor());
	json_object_set_new(entry, "program",
	    json_string(program_invocation_short_name));
	json_object_set_new(entry, "pruned", json_pack("{s:I, s:s, s:O, "
	    "s:I, s:I, s:s}", "through_seq", (json_int_t)top->seq,
	    "through_hash", hex, "days", deleted, "entries",
	    (json_int_t)n, "retention_days", (json_int_t)days,
	    "before", cutoff));
	json_object_set_new(entry, "contract", json_string(AIM_CONTRACT));
	epath = aim_chain_append_locked(c, entry, why);
	json_decref(entry);
	if (epath == NULL)
		return -1;
	json_object_set_new(report, "entry", json_string(epath));
	free(epath);
	return 0;
}

/*
 * Remove the day directory day of dir and all in it; a day that is a
 * symbolic link is not followed.  0, or -1 with *why (the last problem;
 * the others are passed over to remove what can be).
 */
static int
prune_day(const char *dir, const char *day, char **why)
{
	char path[PATH_MAX * 2];
	struct dirent *de;
	int dfd, rc = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, day);
	if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || (d = fdopendir(dfd)) == NULL) {
		rc = aim_chain_why(why, "can't read %s: %s", path,
		    errno == ENOTDIR || errno == ELOOP ?
		    "not a directory" : strerror(errno));
		if (dfd != -1)
			close(dfd);
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == -1)
			rc = aim_chain_why(why, "can't remove %s/%s: %s", path,
			    de->d_name, strerror(errno));
	}
	closedir(d);
	if (rmdir(path) == -1)
		rc = aim_chain_why(why, "can't remove %s: %s", path,
		    strerror(errno));
	return rc;
}

int
aim_chain_prune(const char *dir, int64_t days, int dry_run, json_t **report,
    char **why)
{
	struct aim_chain c;
	struct aim_scan s;
	char **list, cutoff[16], hex[AIM_HASH_HEX_BYTES + 1];
	time_t now = time(NULL) - (time_t)days * 86400;
	struct tm tm;
	json_t *deleted;
	struct aim_scan_entry *top = NULL;
	size_t i, n = 0;
	int err, rc = 0;

	gmtime_r(&now, &tm);
	strftime(cutoff, sizeof(cutoff), "%Y-%m-%d", &tm);
	if (aim_chain_open(&c, dir, why) == -1)
		return -1;
	if (aim_chain_lock(&c, 1, why) == -1) {
		aim_chain_close(&c);
		return -1;
	}
	if ((list = aim_chain_days(dir, &err)) == NULL) {
		errno = err;
		aim_chain_why(why, "can't read %s: %s", dir, strerror(err));
		aim_chain_close(&c);
		return -1;
	}
	deleted = json_array();
	for (i = 0; list[i] != NULL && strcmp(list[i], cutoff) < 0; i++)
		json_array_append_new(deleted, json_string(list[i]));
	/* The newest entry that goes: the prune entry commits to it. */
	memset(&s, 0, sizeof(s));
	if (json_array_size(deleted) > 0) {
		if (aim_chain_scan(dir, &s, NULL, list[i - 1], 0, why) == -1) {
			rc = -1;
			goto out;
		}
		for (n = 0; n < s.n; n++)
			if (s.v[n].seq > 0 && s.v[n].bad == NULL)
				top = &s.v[n];
		n = s.n;
	}
	*report = json_pack("{s:b, s:I, s:s, s:O, s:I}", "dry_run", dry_run,
	    "days", (json_int_t)days, "before", cutoff, "removed_days",
	    deleted, "removed_entries", (json_int_t)n);
	if (top != NULL) {
		aim_hex(top->hash, AIM_HASH_BYTES, hex);
		json_object_set_new(*report, "through_seq",
		    json_integer(top->seq));
		json_object_set_new(*report, "through_hash", json_string(hex));
	}
	if (dry_run || json_array_size(deleted) == 0)
		goto out;
	if (top != NULL && prune_entry(&c, top, hex, deleted, n, days, cutoff,
	    *report, why) == -1) {
		rc = -1;
		goto out;
	}
	for (i = 0; i < json_array_size(deleted); i++)
		if (prune_day(dir, json_string_value(json_array_get(deleted,
		    i)), why) == -1)
			rc = -1;
	if (aim_fsync_dir(dir) == -1)
		rc = aim_chain_why(why, "can't sync %s: %s", dir,
		    strerror(errno));
out:
	json_decref(deleted);
	aim_chain_scan_free(&s);
	aim_strv_free(list);
	aim_chain_unlock(&c);
	aim_chain_close(&c);
	return rc;
}
