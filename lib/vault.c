/*
 * vault.c: the encrypted secret vault (issue 4) on libsodium.  One file: a
 * fixed header, then one XChaCha20-Poly1305 box over the whole content with
 * the header as associated data and a fresh nonce on every save.  Secret
 * values live only in sodium_malloc memory; a save is atomic and runs
 * under flock(2) on a lock file beside the vault.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "aim-store.h"

static int vault_lock(struct aim_vault *v, char **why);

#define MAGIC		"AIMVAULT"
#define FORMAT_VERSION	1
#define KDF_KEYFILE	0
#define KDF_ARGON2ID	1
#define HEADER_BYTES	84
#define KEYCHECK_BYTES	16
#define TAG_BYTES	crypto_aead_xchacha20poly1305_ietf_ABYTES
#define MAX_VAULT_BYTES	(64 * 1024 * 1024)

/* Header offsets; the layout is frozen (aim-secret(1), FILES). */
enum {
	H_MAGIC = 0, H_VERSION = 8, H_KDF = 9, H_RESERVED = 10, H_OPS = 12,
	H_MEM = 20, H_SALT = 28, H_NONCE = 44, H_KEYCHECK = 68
};

/* Set *why (when wanted) to the formatted message; return code. */
static int
fail(char **why, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(char **why, int code, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL) {
		va_start(ap, fmt);
		*why = aim_vxsprintf(fmt, ap);
		va_end(ap);
	}
	return code;
}

int
aim_vault_setup(void)
{
	if (sodium_init() < 0)
		return -1;
	/* A core dump would hold the secrets. */
	return aim_nodump();
}

char *
aim_vault_default_path(void)
{
	const char *env;

	if ((env = getenv("AIM_VAULT")) != NULL && *env != '\0')
		return aim_xstrdup(env);
	return aim_xdg_path("XDG_DATA_HOME", ".local/share", "vault");
}

/* aim_private_file as an enum aim_vault_error. */
static int
private_file(const char *path, const char *what, char **why)
{
	char *msg;
	int rc;

	if (aim_private_file(path, what, &msg) == 0)
		return AIM_VAULT_OK;
	rc = fail(why, errno == ENOENT ? AIM_VAULT_NOTFOUND :
	    errno == EPERM ? AIM_VAULT_UNSAFE : AIM_VAULT_IO, "%s", msg);
	free(msg);
	return rc;
}

/*
 * Read a private file whole: a key file into sodium memory (secret), the
 * vault into malloc'd memory.
 */
static int
slurp(const char *path, const char *what, int secret, unsigned char **out,
    size_t *len, char **why)
{
	char *buf;
	int rc;

	if ((rc = private_file(path, what, why)) != AIM_VAULT_OK)
		return rc;
	if (aim_read_file(AT_FDCWD, path, AIM_READ_NOFOLLOW |
	    (secret ? AIM_READ_SECRET : 0), MAX_VAULT_BYTES, &buf, len) == 0) {
		*out = (unsigned char *)buf;
		return AIM_VAULT_OK;
	}
	if (errno == EFBIG)
		return fail(why, AIM_VAULT_FORMAT, "%s %s is too large",
		    what, path);
	if (errno == ENOMEM)
		return fail(why, AIM_VAULT_IO, "out of secure memory");
	return fail(why, AIM_VAULT_IO, "can't open %s: %s", path,
	    strerror(errno));
}

static void
put64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The key check: BLAKE2b-128 keyed with the key, over a fixed label. */
static void
keycheck(unsigned char out[KEYCHECK_BYTES], const unsigned char *key)
{
	static const char label[] = "aim-vault keycheck v1";

	crypto_generichash(out, KEYCHECK_BYTES, (const unsigned char *)label,
	    sizeof(label) - 1, key, AIM_VAULT_KEY_BYTES);
}

/* Derive or load the key for v's KDF into v->key. */
static int
get_key(struct aim_vault *v, const struct aim_unlock *u, char **why)
{
	unsigned char *kf;
	size_t kflen;
	int rc;

	if (v->kdf == KDF_KEYFILE) {
		if (u->keyfile == NULL)
			return fail(why, AIM_VAULT_NOKEY, "vault %s opens "
			    "with a key file: set AIM_VAULT_KEYFILE",
			    v->path);
		if ((rc = slurp(u->keyfile, "key file", 1, &kf, &kflen,
		    why)) != AIM_VAULT_OK)
			return rc;
		if (kflen != AIM_VAULT_KEY_BYTES) {
			sodium_free(kf);
			return fail(why, AIM_VAULT_WRONGKEY, "key file %s "
			    "holds %zu bytes, not %d", u->keyfile, kflen,
			    AIM_VAULT_KEY_BYTES);
		}
		memcpy(v->key, kf, AIM_VAULT_KEY_BYTES);
		sodium_free(kf);
		return AIM_VAULT_OK;
	}
	if (u->pass == NULL)
		return fail(why, AIM_VAULT_NOKEY, "vault %s opens with a "
		    "passphrase: give it on a terminal or with --passphrase-fd",
		    v->path);
	if (crypto_pwhash(v->key, AIM_VAULT_KEY_BYTES, (const char *)u->pass,
	    u->passlen, v->salt, v->opslimit, v->memlimit,
	    crypto_pwhash_ALG_ARGON2ID13) != 0)
		return fail(why, AIM_VAULT_IO, "argon2id: out of memory "
		    "(%llu bytes)", (unsigned long long)v->memlimit);
	return AIM_VAULT_OK;
}

static void
entries_free(struct aim_vault *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		free(v->v[i].name);
		free(v->v[i].description);
		sodium_free(v->v[i].value);
	}
	free(v->v);
	v->v = NULL;
	v->n = v->cap = 0;
}

/*
 * The content: u32 count, then per secret u16 name length, name, u16
 * description length, description, i64 created, i64 updated (Unix
 * seconds), u32 value length, value; little-endian.
 */
static int
parse(struct aim_vault *v, const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len;
	uint32_t count, i, vlen;
	uint16_t nlen, dlen;

#define NEED(k) do { if ((size_t)(end - p) < (size_t)(k)) return -1; } while (0)
	NEED(4);
	count = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
	p += 4;
	for (i = 0; i < count; i++) {
		struct aim_vault_secret s;

		memset(&s, 0, sizeof(s));
		NEED(2);
		nlen = p[0] | p[1] << 8;
		p += 2;
		NEED(nlen + 2);
		s.name = aim_xmalloc(nlen + 1);
		memcpy(s.name, p, nlen);
		s.name[nlen] = '\0';
		p += nlen;
		dlen = p[0] | p[1] << 8;
		p += 2;
		if ((size_t)(end - p) < (size_t)dlen + 20) {
			free(s.name);
			return -1;
		}
		s.description = aim_xmalloc(dlen + 1);
		memcpy(s.description, p, dlen);
		s.description[dlen] = '\0';
		p += dlen;
		s.created_at = (int64_t)get64(p);
		s.updated_at = (int64_t)get64(p + 8);
		p += 16;
		vlen = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
		p += 4;
		if ((size_t)(end - p) < vlen) {
			free(s.name);
			free(s.description);
			return -1;
		}
		if ((s.value = sodium_malloc(vlen + 1)) == NULL) {
			free(s.name);
			free(s.description);
			return -1;
		}
		memcpy(s.value, p, vlen);
		s.value[vlen] = '\0';
		s.value_len = vlen;
		p += vlen;
		if (v->n == v->cap) {
			v->cap = v->cap ? v->cap * 2 : 8;
			v->v = aim_xrealloc(v->v, v->cap * sizeof(*v->v));
		}
		v->v[v->n++] = s;
	}
#undef NEED
	return p == end ? 0 : -1;
}

static void
vault_init(struct aim_vault *v, const char *path)
{
	memset(v, 0, sizeof(*v));
	v->path = aim_xstrdup(path);
	v->lock_fd = -1;
	v->key = sodium_malloc(AIM_VAULT_KEY_BYTES);
	if (v->key == NULL)
		abort();
}

int
aim_vault_open(struct aim_vault *v, const char *path,
    const struct aim_unlock *u, int lock, char **why)
{
	unsigned char *file = NULL, *plain = NULL, check[KEYCHECK_BYTES];
	unsigned long long plen;
	size_t len;
	int rc;

	vault_init(v, path);
	if (lock && (rc = vault_lock(v, why)) != AIM_VAULT_OK)
		return rc;
	if ((rc = slurp(path, "vault", 0, &file, &len, why)) != AIM_VAULT_OK) {
		if (rc == AIM_VAULT_NOTFOUND) {
			free(*why);
			*why = aim_xsprintf("no vault at %s: create one with "
			    "aim-secret init", path);
		}
		return rc;
	}
	if (len < 8 || memcmp(file, MAGIC, 8) != 0) {
		rc = fail(why, AIM_VAULT_FORMAT, "%s is not an aim vault",
		    path);
		goto out;
	}
	if (len < HEADER_BYTES + TAG_BYTES) {
		rc = fail(why, AIM_VAULT_FORMAT, "vault %s is truncated "
		    "(%zu bytes)", path, len);
		goto out;
	}
	if (file[H_VERSION] != FORMAT_VERSION) {
		rc = fail(why, AIM_VAULT_VERSION, "vault %s has format "
		    "version %d; this aim reads version %d", path,
		    file[H_VERSION], FORMAT_VERSION);
		goto out;
	}
	v->kdf = file[H_KDF];
	v->opslimit = get64(file + H_OPS);
	v->memlimit = get64(file + H_MEM);
	memcpy(v->salt, file + H_SALT, sizeof(v->salt));
	if (v->kdf != KDF_KEYFILE && v->kdf != KDF_ARGON2ID) {
		rc = fail(why, AIM_VAULT_FORMAT, "vault %s: unknown key "
		    "derivation %d", path, v->kdf);
		goto out;
	}
	/* Limits come from the file: cap them before argon2id runs. */
	if (v->kdf == KDF_ARGON2ID &&
	    (v->opslimit < crypto_pwhash_OPSLIMIT_MIN ||
	    v->opslimit > crypto_pwhash_OPSLIMIT_SENSITIVE ||
	    v->memlimit < crypto_pwhash_MEMLIMIT_MIN ||
	    v->memlimit > crypto_pwhash_MEMLIMIT_SENSITIVE)) {
		rc = fail(why, AIM_VAULT_LIMITS, "vault %s asks for "
		    "argon2id limits out of range (%llu ops, %llu bytes)", path,
		    (unsigned long long)v->opslimit,
		    (unsigned long long)v->memlimit);
		goto out;
	}
	if ((rc = get_key(v, u, why)) != AIM_VAULT_OK)
		goto out;
	keycheck(check, v->key);
	if (sodium_memcmp(check, file + H_KEYCHECK, KEYCHECK_BYTES) != 0) {
		rc = fail(why, AIM_VAULT_WRONGKEY, v->kdf == KDF_KEYFILE ?
		    "wrong key file for vault %s" :
		    "wrong passphrase for vault %s", path);
		goto out;
	}
	if ((plain = sodium_malloc(len - HEADER_BYTES)) == NULL) {
		rc = fail(why, AIM_VAULT_IO, "out of secure memory");
		goto out;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL,
	    file + HEADER_BYTES, len - HEADER_BYTES, file, HEADER_BYTES,
	    file + H_NONCE, v->key) != 0 || parse(v, plain, plen) == -1) {
		entries_free(v);
		rc = fail(why, AIM_VAULT_CORRUPT, "vault %s is corrupted: "
		    "the key is right but the content does not authenticate",
		    path);
		goto out;
	}
	rc = AIM_VAULT_OK;
out:
	if (plain != NULL)
		sodium_free(plain);
	free(file);
	return rc;
}

/* Take the vault's lock (<path>.lock, flock LOCK_EX). */
static int
vault_lock(struct aim_vault *v, char **why)
{
	char lock[PATH_MAX], *dir;
	int rc;

	if (v->lock_fd != -1)
		return AIM_VAULT_OK;
	if (aim_mkdirs_parent(v->path, &dir) == -1) {
		rc = fail(why, AIM_VAULT_IO, "can't create %s: %s", dir,
		    strerror(errno));
		free(dir);
		return rc;
	}
	if (snprintf(lock, sizeof(lock), "%s.lock", v->path) >=
	    (int)sizeof(lock))
		return fail(why, AIM_VAULT_IO, "%s: name too long",
		    v->path);
	v->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (v->lock_fd == -1)
		return fail(why, AIM_VAULT_IO, "can't open %s: %s", lock,
		    strerror(errno));
	while (flock(v->lock_fd, LOCK_EX) == -1)
		if (errno != EINTR)
			return fail(why, AIM_VAULT_IO, "can't lock %s: %s",
			    lock, strerror(errno));
	return AIM_VAULT_OK;
}

int
aim_vault_create(struct aim_vault *v, const char *path,
    const struct aim_unlock *u, char **why)
{
	int rc;

	vault_init(v, path);
	if ((rc = vault_lock(v, why)) != AIM_VAULT_OK)
		return rc;
	if (access(path, F_OK) == 0)
		return fail(why, AIM_VAULT_IO, "vault %s exists already",
		    path);
	return aim_vault_rekey(v, u, why);
}

int
aim_vault_rekey(struct aim_vault *v, const struct aim_unlock *u, char **why)
{
	int rc;

	if (u->keyfile != NULL) {
		v->kdf = KDF_KEYFILE;
		v->opslimit = v->memlimit = 0;
		memset(v->salt, 0, sizeof(v->salt));
	} else {
		v->kdf = KDF_ARGON2ID;
		v->opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
		v->memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
		randombytes_buf(v->salt, sizeof(v->salt));
	}
	if ((rc = get_key(v, u, why)) != AIM_VAULT_OK)
		return rc;
	return aim_vault_save(v, why);
}

int
aim_vault_save(struct aim_vault *v, char **why)
{
	unsigned char header[HEADER_BYTES], *plain, *p, *ct;
	unsigned long long ctlen;
	struct aim_write_fail f;
	size_t len, i;
	int rc;

	len = 4;
	for (i = 0; i < v->n; i++)
		len += 2 + strlen(v->v[i].name) + 2 +
		    strlen(v->v[i].description) + 16 + 4 + v->v[i].value_len;
	if ((plain = sodium_malloc(len)) == NULL)
		return fail(why, AIM_VAULT_IO, "out of secure memory");
	p = plain;
	*p++ = v->n, *p++ = v->n >> 8, *p++ = v->n >> 16, *p++ = v->n >> 24;
	for (i = 0; i < v->n; i++) {
		const struct aim_vault_secret *s = &v->v[i];
		size_t nl = strlen(s->name), dl = strlen(s->description);

		*p++ = nl, *p++ = nl >> 8;
		memcpy(p, s->name, nl), p += nl;
		*p++ = dl, *p++ = dl >> 8;
		memcpy(p, s->description, dl), p += dl;
		put64(p, s->created_at), put64(p + 8, s->updated_at), p += 16;
		*p++ = s->value_len, *p++ = s->value_len >> 8;
		*p++ = s->value_len >> 16, *p++ = s->value_len >> 24;
		memcpy(p, s->value, s->value_len), p += s->value_len;
	}

	memset(header, 0, sizeof(header));
	memcpy(header + H_MAGIC, MAGIC, 8);
	header[H_VERSION] = FORMAT_VERSION;
	header[H_KDF] = v->kdf;
	put64(header + H_OPS, v->opslimit);
	put64(header + H_MEM, v->memlimit);
	memcpy(header + H_SALT, v->salt, sizeof(v->salt));
	randombytes_buf(header + H_NONCE, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	keycheck(header + H_KEYCHECK, v->key);
	memcpy(v->last_nonce, header + H_NONCE, sizeof(v->last_nonce));

	ct = aim_xmalloc(HEADER_BYTES + len + TAG_BYTES);
	memcpy(ct, header, HEADER_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(ct + HEADER_BYTES, &ctlen,
	    plain, len, header, HEADER_BYTES, NULL, header + H_NONCE, v->key);
	sodium_free(plain);

	rc = aim_write_atomic(v->path, ct, HEADER_BYTES + ctlen, 0600, 0,
	    &f);
	free(ct);
	if (rc == 0)
		return AIM_VAULT_OK;
	if (f.step == AIM_WRITE_CREATE)
		return fail(why, AIM_VAULT_IO, "can't create %s: %s", f.tmp,
		    strerror(errno));
	if (f.step == AIM_WRITE_DATA)
		return fail(why, AIM_VAULT_IO, "can't write %s: %s", f.tmp,
		    strerror(errno));
	return fail(why, AIM_VAULT_IO, "can't replace %s: %s", v->path,
	    strerror(errno));
}

const struct aim_vault_secret *
aim_vault_get(const struct aim_vault *v, const char *name)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->v[i].name, name) == 0)
			return &v->v[i];
	return NULL;
}

int
aim_vault_set(struct aim_vault *v, const char *name, const char *description,
    const unsigned char *value, size_t value_len, int64_t now)
{
	struct aim_vault_secret *s = (struct aim_vault_secret *)aim_vault_get(v,
	    name);
	unsigned char *copy;

	if ((copy = sodium_malloc(value_len + 1)) == NULL)
		return -1;
	memcpy(copy, value, value_len);
	copy[value_len] = '\0';
	if (s == NULL) {
		if (v->n == v->cap) {
			v->cap = v->cap ? v->cap * 2 : 8;
			v->v = aim_xrealloc(v->v, v->cap * sizeof(*v->v));
		}
		s = &v->v[v->n++];
		memset(s, 0, sizeof(*s));
		s->name = aim_xstrdup(name);
		s->description = aim_xstrdup("");
		s->created_at = now;
	} else
		sodium_free(s->value);
	if (description != NULL) {
		free(s->description);
		s->description = aim_xstrdup(description);
	}
	s->value = copy;
	s->value_len = value_len;
	s->updated_at = now;
	return 0;
}

int
aim_vault_rm(struct aim_vault *v, const char *name)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->v[i].name, name) == 0) {
			free(v->v[i].name);
			free(v->v[i].description);
			sodium_free(v->v[i].value);
			memmove(&v->v[i], &v->v[i + 1],
			    (v->n - i - 1) * sizeof(*v->v));
			v->n--;
			return 0;
		}
	return -1;
}

void
aim_vault_close(struct aim_vault *v)
{
	entries_free(v);
	if (v->key != NULL)
		sodium_free(v->key);
	if (v->lock_fd != -1)
		close(v->lock_fd);
	free(v->path);
	memset(v, 0, sizeof(*v));
	v->lock_fd = -1;
}

int
aim_vault_keyfile_create(const char *path, char **why)
{
	unsigned char key[AIM_VAULT_KEY_BYTES];
	struct aim_write_fail f;
	int rc;

	randombytes_buf(key, sizeof(key));
	rc = aim_write_file_new(path, key, sizeof(key), 0600, 0, &f);
	sodium_memzero(key, sizeof(key));
	if (rc == 0)
		return AIM_VAULT_OK;
	return fail(why, AIM_VAULT_IO, "can't %s key file %s: %s",
	    f.step == AIM_WRITE_CREATE ? "create" : "write", path,
	    strerror(errno));
}

int
aim_vault_open_unattended(struct aim_vault *v, char **why)
{
	struct aim_unlock u = { NULL, NULL, 0 };
	char *path;
	size_t i;
	int rc;

	/* Empty, so that aim_vault_close() is safe on every path. */
	memset(v, 0, sizeof(*v));
	v->lock_fd = -1;
	if (aim_vault_setup() == -1)
		return fail(why, AIM_VAULT_IO, "can't initialise libsodium");
	if ((path = aim_vault_default_path()) == NULL)
		return fail(why, AIM_VAULT_NOTFOUND, "no vault path: set "
		    "AIM_VAULT or HOME");
	u.keyfile = getenv("AIM_VAULT_KEYFILE");
	if (u.keyfile != NULL && *u.keyfile == '\0')
		u.keyfile = NULL;
	rc = aim_vault_open(v, path, &u, 0, why);
	free(path);
	if (rc == AIM_VAULT_OK)
		for (i = 0; i < v->n; i++)
			aim_redact_register(v->v[i].value, v->v[i].value_len);
	return rc;
}
