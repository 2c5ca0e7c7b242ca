/*
 * aim-audit: one durable audit entry per record (seed 002 §5); every record
 * passes through with "audit":{"path":...} added, so it can sit anywhere in
 * a pipeline.
 */
#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aim.h"

#define MAX_RECORD_BYTES	(64 * 1024 * 1024)
/* The most entries one group commit takes, whatever the config says. */
#define GROUP_LIMIT	4096

static const char *progname = "aim-audit";

/*
 * The global options, then the commands and their own options (struct
 * aim_subcmd, cli.c), for the convention of aim(7) COMMAND LINES:
 * global options before the command (or after it), a command's own
 * options after it.  Without a command, the filter.
 */
#define GLOBALS_SYNOPSIS "[-c config] [-d dir] [-r registry]"
#define GLOBAL_SHORTS	"c:d:hr:V"
static const struct option global_longs[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "dir", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ "human", no_argument, NULL, 'H' },
	{ "registry", required_argument, NULL, 'r' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};
static int global_human;	/* -H: the filter's records in words */
static const char global_help[] =
    "  -c, --config config      the configuration file\n"
    "  -d, --dir dir            the audit directory\n"
    "  -H, --human              the filter: each record in words on "
    "stderr too\n"
    "  -h, --help               print this help and exit\n"
    "  -r, --registry registry  the registry directory\n"
    "  -V, --version            print the version and exit\n";
static const char seckey_help[] =
    "  -s seckey                keygen, checkpoint: the secret key file\n";
static const struct option verify_longs[] = {
	{ "checkpoint", required_argument, NULL, 'C' },
	{ NULL, 0, NULL, 0 }
};
static const struct option prune_longs[] = {
	{ "days", required_argument, NULL, 'D' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ NULL, 0, NULL, 0 }
};
static const struct option query_longs[] = {
	{ "capability", required_argument, NULL, 'C' },
	{ "csv", no_argument, NULL, 'v' },
	{ "failed", no_argument, NULL, 'F' },
	{ "id", required_argument, NULL, 'I' },
	{ "kind", required_argument, NULL, 'K' },
	{ "since", required_argument, NULL, 'S' },
	{ "tool", required_argument, NULL, 'T' },
	{ "until", required_argument, NULL, 'U' },
	{ NULL, 0, NULL, 0 }
};
static const struct option metrics_longs[] = {
	{ "textfile", required_argument, NULL, 'X' },
	{ NULL, 0, NULL, 0 }
};
static const struct option no_longs[] = {
	{ NULL, 0, NULL, 0 }
};
static const struct aim_subcmd subcmds[] = {
	{ "keygen", "s:", no_longs, "keygen [-s seckey]", seckey_help },
	{ "checkpoint", "s:", no_longs, "checkpoint [-s seckey]",
	    seckey_help },
	{ "verify", "k:", verify_longs,
	    "verify [-k pubkey] [--checkpoint file ...]",
	    "  -k pubkey                verify: the public key file\n"
	    "  --checkpoint file        verify: a checkpoint to hold the log "
	    "to\n" },
	{ "prune", "", prune_longs, "prune [--days n] [--dry-run]",
	    "  --days n                 prune: remove the days older than n "
	    "days\n"
	    "  --dry-run                prune: say what would go, remove "
	    "nothing\n" },
	{ "query", "n:", query_longs,
	    "query [--capability capability] [--csv] [--failed]\n"
	    "              [--id id] [--kind kind] [-n count] [--since date]\n"
	    "              [--tool tool] [--until date]",
	    "  --capability capability  query: the entries of this "
	    "capability\n"
	    "  --csv                    query: CSV instead of JSON lines\n"
	    "  --failed                 query: failures, error records and "
	    "events\n"
	    "  --id id                  query: the entries of this record id\n"
	    "  --kind kind              query: invocation, prune or an event "
	    "kind\n"
	    "  -n count                 query: only the newest count entries\n"
	    "  --since date             query: from date; today, yesterday, "
	    "Nd, Nh, Nm ago\n"
	    "  --tool tool              query: the entries of this tool\n"
	    "  --until date             query: up to date, inclusive; the "
	    "same forms\n" },
	{ "stats", "", no_longs, "stats", "" },
	{ "metrics", "", metrics_longs, "metrics [--textfile file]",
	    "  --textfile file          metrics: write file (atomically), "
	    "not stdout\n" },
	{ NULL, NULL, NULL, NULL, NULL }
};

/*
 * The usage on stderr and exit status; with status 0 (-h, --help) on
 * stdout, followed by every option, one line each, and the manual page.
 */
static void __attribute__((noreturn))
usage(int status)
{
	FILE *f = status ? stderr : stdout;
	int i, j;

	fprintf(f, "usage: %s [-H] " GLOBALS_SYNOPSIS " [file ...]\n"
	    "       %s " GLOBALS_SYNOPSIS " command [args]\n", progname,
	    progname);
	for (i = 0; subcmds[i].name != NULL; i++)
		fprintf(f, "       %s %s\n", progname, subcmds[i].synopsis);
	if (status == 0) {
		fprintf(f, "\n%s", global_help);
		for (i = 0; subcmds[i].name != NULL; i++) {
			for (j = 0; j < i; j++)
				if (subcmds[j].help == subcmds[i].help)
					break;
			if (j == i)
				fputs(subcmds[i].help, f);
		}
		fprintf(f, "\nSee %s(1).\n", progname);
	}
	exit(status);
}

/* PROG COMMAND --help: its synopsis, its options, the global ones. */
static void __attribute__((noreturn))
sub_usage(const struct aim_subcmd *sub)
{
	aim_subcmd_help(progname, GLOBALS_SYNOPSIS, sub, global_help);
}

static const struct aim_subcmd *
sub_find(const char *name)
{
	return aim_subcmd_find(subcmds, name);
}

/* A usage error from getopt_long (aim_subcmd_bad_option); exit 2. */
static void __attribute__((noreturn))
bad_option(const struct aim_subcmd *cur, char *argv[], int ch)
{
	aim_subcmd_bad_option(progname, subcmds, cur, argv, ch);
	usage(AIM_EXIT_USAGE);
}

/* A record read, its entry made, waiting for its group to commit. */
struct pend {
	json_t	*rec, *entry;
	const char *source;
	long	 lineno;
	char	*path, *why;	/* where its entry went, or why not */
};

struct audit {
	struct aim_setup set;	/* config and audit directory */
	struct pend *group;	/* aim-audit(1) "Group commit" */
	size_t	 n, max;	/* records in it, and the most it takes */
	int	 status;
};

/*
 * With $AIM_VAULT_KEYFILE set, hand every vault secret to the redaction
 * (issue 4), so an echoed secret never reaches an entry.  0, or -1 when
 * the vault could not be read (said on stderr; entries are still written).
 */
static int
redact_vault(void)
{
	const char *kf = getenv("AIM_VAULT_KEYFILE");
	struct aim_vault v;
	char *why = NULL;
	int rc;

	if (kf == NULL || *kf == '\0')
		return 0;
	if ((rc = aim_vault_open_unattended(&v, &why)) != AIM_VAULT_OK)
		warnx("can't redact vault secrets: %s", why);
	free(why);
	aim_vault_close(&v);
	return rc == AIM_VAULT_OK ? 0 : -1;
}

/* The record of a line, redacted; an error record when the line is not one. */
static json_t *
record_of(const struct aim_line *line, const char *source)
{
	char buf[256];
	json_t *rec;
	int is_error;

	if (line->too_long) {
		snprintf(buf, sizeof(buf), "record is longer than %d bytes",
		    MAX_RECORD_BYTES);
		rec = aim_bad_line_record(line, "audit", "invalid_record", buf);
		aim_redact_secrets(rec);
		warnx("%s:%ld: %s", source, line->lineno, buf);
		return rec;
	}
	rec = aim_parse_record(line, "audit", "a record", "invalid_record",
	    &is_error);
	/* Secrets go before anything is printed or written. */
	aim_redact_secrets(rec);
	if (is_error)
		warnx("%s:%ld: %s", source, line->lineno,
		    json_string_value(json_object_get(json_object_get(rec,
		    "error"), "message")));
	return rec;
}

/*
 * Write the entries of the group, together (aim_chain_append_group) and,
 * when a group cannot commit, one by one, so that a record's failure is
 * its own.
 */
static void
group_write_into(struct audit *au, json_t **entries, char **paths)
{
	struct aim_chain *c;
	char *why = NULL;
	size_t i, k;

	if ((c = aim_setup_chain(&au->set, &why)) == NULL) {
		for (i = 0; i < au->n; i++)
			au->group[i].why = aim_xstrdup(why);
		free(why);
		return;
	}
	for (i = 0; i < au->n; i++)
		entries[i] = au->group[i].entry;
	/* Each call commits a group, or the part of it before a new day. */
	i = 0;
	while (i < au->n && (k = aim_chain_append_group(c, entries + i,
	    au->n - i, paths + i, &why)) > 0)
		for (; k > 0; k--, i++)
			au->group[i].path = paths[i];
	if (i == au->n)
		return;
	if (au->n - i == 1) {	/* a group of one is written on its own */
		au->group[i].why = why;
		return;
	}
	warnx("%s; writing the group's %zu entries one by one", why,
	    au->n - i);
	free(why);
	why = NULL;
	for (; i < au->n; i++)
		if ((au->group[i].path = aim_chain_append(c, entries[i],
		    &why)) == NULL) {
			au->group[i].why = why;
			why = NULL;
		}
}

static void
group_write(struct audit *au)
{
	json_t **entries = aim_xmalloc(au->n * sizeof(*entries));
	char **paths = aim_xmalloc(au->n * sizeof(*paths));

	group_write_into(au, entries, paths);
	free(entries);
	free(paths);
}

/*
 * Commit the records read so far (aim_each_line_idle's idle: nothing more
 * is at hand, or the group is full), then pass them on, each with where
 * its entry went: never before it is durable.
 */
static void
group_commit(void *arg)
{
	struct audit *au = arg;
	struct pend *p;
	json_t *result;
	size_t i;

	if (au->n == 0)
		return;
	group_write(au);
	for (i = 0; i < au->n; i++) {
		p = &au->group[i];
		if (p->path != NULL)
			json_object_set_new(p->rec, "audit", json_pack("{s:s}",
			    "path", p->path));
		else {
			warnx("%s:%ld: %s", p->source, p->lineno, p->why);
			json_object_set_new(p->rec, "audit", json_pack("{s:s}",
			    "error", p->why));
			aim_exit_raise(&au->status, AIM_EXIT_IO);
		}
		result = json_object_get(p->rec, "result");
		if (json_object_get(p->rec, "error") != NULL ||
		    (result != NULL && !json_is_true(json_object_get(result,
		    "success"))))
			aim_exit_raise(&au->status, AIM_EXIT_FAILED);
		if (global_human)
			aim_show_record(stderr, p->rec,
			    aim_show_color(STDERR_FILENO));
		if (aim_emit(stdout, p->rec) == -1)
			aim_exit_raise(&au->status, AIM_EXIT_IO);
		json_decref(p->rec);
		json_decref(p->entry);
		free(p->path);
		free(p->why);
	}
	au->n = 0;
	fflush(stdout);
}

/* aim_each_line_idle's callback: one record into the group; once stdout fails, read no more. */
static int
audit_one(void *arg, const struct aim_line *line, const char *source)
{
	struct audit *au = arg;
	struct pend *p = &au->group[au->n++];
	char iso[32];

	p->rec = record_of(line, source);
	/* The timestamp is set again under the chain's lock. */
	aim_utc_stamp(iso, NULL, NULL);
	p->entry = aim_audit_entry(p->rec, iso, au->set.cfg.actor);
	p->source = source;
	p->lineno = line->lineno;
	p->path = p->why = NULL;
	if (au->n == au->max)
		group_commit(au);
	return ferror(stdout);
}

/* ---- subcommands ---- */

/* The most -d a verify, query or stats takes (aim-audit(1) "Several"). */
#define MAX_DIRS	64

struct sub {
	struct aim_options opt;
	const char *opt_dir;	/* the first -d */
	const char *dirs[MAX_DIRS];	/* the others, as given */
	size_t	 ndirs;
	int	 own_dir;	/* a -d after the command */
	int	 several;	/* the command takes the others */
	char	*abs[MAX_DIRS + 1];	/* every directory, absolute */
	struct aim_setup set;	/* config and audit directory */
	int	 status;
};

/* The command being run, and the global options given before it. */
static const struct aim_subcmd *cur;
static struct aim_options global_opt;
static const char *global_dir;

/*
 * getopt_long over the command's argv: the global options and cur's own;
 * -h is cur's help, -V the version, anything else a usage error.
 */
static int
sub_getopt(int argc, char *argv[])
{
	static struct option longs[24];
	static char shorts[32];
	size_t n = 0, i;
	int ch;

	if (shorts[0] == '\0') {
		for (i = 0; global_longs[i].name != NULL; i++)
			longs[n++] = global_longs[i];
		for (i = 0; cur->longs[i].name != NULL; i++)
			longs[n++] = cur->longs[i];
		snprintf(shorts, sizeof(shorts), ":%s%s", GLOBAL_SHORTS,
		    cur->shorts);
	}
	switch ((ch = getopt_long(argc, argv, shorts, longs, NULL))) {
	case 'h':
		sub_usage(cur);
	case 'V':
		printf("%s %s\n", progname, AIM_VERSION);
		exit(0);
	case '?':
	case ':':
		bad_option(cur, argv, ch);
	}
	return ch;
}

/* One of the options every subcommand shares: 1 taken, 0 not ours. */
static int
common_opt(struct sub *sb, int ch)
{
	switch (ch) {
	case 'c':
		sb->opt.config = optarg;
		return 1;
	case 'd':
		/* The first -d stands for the global one, the others add. */
		if (!sb->own_dir) {
			sb->opt_dir = optarg;
			sb->own_dir = 1;
		} else if (sb->ndirs == MAX_DIRS)
			errx(AIM_EXIT_USAGE, "-d: at most %d directories",
			    MAX_DIRS + 1);
		else
			sb->dirs[sb->ndirs++] = optarg;
		return 1;
	case 'r':
		sb->opt.registry = optarg;
		return 1;
	}
	return 0;
}

/* A command's state, from the global options given before it. */
static void
sub_init(struct sub *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->opt = global_opt;
	sb->opt_dir = global_dir;
}

/* Registry, configuration and audit directory, as the filter finds them. */
static void
sub_setup(struct sub *sb)
{
	size_t k;

	if (sb->ndirs > 0 && !sb->several)
		errx(AIM_EXIT_USAGE, "%s: one -d only (verify, query and stats "
		    "take several)", cur->name);
	aim_setup_load(&sb->set, &sb->opt, sb->opt_dir, AIM_SETUP_WARN |
	    AIM_SETUP_AUDIT_DIR | AIM_SETUP_FALLBACK);
	aim_exit_raise(&sb->status, sb->set.status);
	if (sb->set.audit_dir == NULL)
		errx(AIM_EXIT_CONFIG, "no audit directory: set AIM_AUDIT_DIR "
		    "or use -d");
	sb->abs[0] = aim_xstrdup(sb->set.audit_dir);
	for (k = 0; k < sb->ndirs; k++)
		sb->abs[k + 1] = aim_abspath(sb->dirs[k], NULL);
}

/* Oldest first across the chains: by timestamp, then as scanned. */
static int
cmp_stamp(const void *a, const void *b)
{
	const struct aim_scan_entry *x = a, *y = b;
	const char *tx = json_string_value(json_object_get(x->json,
	    "timestamp")), *ty = json_string_value(json_object_get(y->json,
	    "timestamp"));
	int c = strcmp(tx ? tx : "", ty ? ty : "");

	return c != 0 ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Every directory's entries from since_day to until_day (NULL: no bound)
 * into s, parsed.  With several, each entry gains "audit_dir", its
 * directory, and they are merged oldest first (aim-audit(1) "Several
 * directories").  0, or AIM_EXIT_IO with a warning per directory that
 * could not be read.
 */
static int
scan_dirs(struct sub *sb, struct aim_scan *s, const char *since_day,
    const char *until_day)
{
	struct aim_scan one;
	char *why = NULL;
	size_t k, i;
	int status = 0;

	memset(s, 0, sizeof(*s));
	for (k = 0; k <= sb->ndirs; k++) {
		if (aim_chain_scan(sb->abs[k], &one, since_day, until_day, 1,
		    &why) == -1) {
			warnx("%s", why);
			free(why);
			why = NULL;
			status = AIM_EXIT_IO;
		}
		if (sb->ndirs == 0) {
			*s = one;
			return status;
		}
		for (i = 0; i < one.n; i++)
			if (one.v[i].json != NULL)
				json_object_set_new(one.v[i].json, "audit_dir",
				    json_string(sb->abs[k]));
		s->v = aim_xrealloc(s->v, (s->n + one.n + 1) * sizeof(*s->v));
		memcpy(s->v + s->n, one.v, one.n * sizeof(*s->v));
		s->n += one.n;
		s->cap = s->n;
		free(one.v);
	}
	qsort(s->v, s->n, sizeof(*s->v), cmp_stamp);
	return status;
}

/*
 * sub_setup, then every entry of the trail, parsed, into s (for stats and
 * metrics).  0, or AIM_EXIT_IO with a warning when a directory of it could
 * not be read (what could be read is in s).
 */
static int
sub_scan(struct sub *sb, struct aim_scan *s)
{
	sub_setup(sb);
	return scan_dirs(sb, s, NULL, NULL);
}

static int
sub_done(struct sub *sb, int status)
{
	size_t k;

	for (k = 0; k <= MAX_DIRS; k++)
		free(sb->abs[k]);
	aim_exit_raise(&status, sb->status);
	aim_setup_free(&sb->set);
	if (aim_close_stdout() == -1)
		aim_exit_raise(&status, AIM_EXIT_IO);
	return status;
}

static int
cmd_keygen(int argc, char *argv[])
{
	const char *seckey = NULL;
	char *path = NULL, *pub = NULL, *why = NULL;
	json_t *out;
	int ch;

	while ((ch = sub_getopt(argc, argv)) != -1) {
		switch (ch) {
		case 'c':
		case 'd':
		case 'r':
			break;	/* global, of no use to keygen */
		case 's':
			seckey = optarg;
			break;
		default:
			usage(AIM_EXIT_USAGE);
		}
	}
	if (optind != argc)
		usage(AIM_EXIT_USAGE);
	if (seckey != NULL)
		path = aim_abspath(seckey, NULL);
	else if ((path = aim_audit_key_path()) == NULL)
		errx(AIM_EXIT_CONFIG, "no key path: use -s, or set "
		    "AIM_AUDIT_KEY or HOME");
	if (aim_audit_keygen(path, &pub, &why) == -1)
		errx(AIM_EXIT_IO, "%s", why);
	out = json_pack("{s:s, s:s+, s:s}", "secret_key", path, "public_key",
	    path, ".pub", "public", pub);
	aim_emit(stdout, out);
	json_decref(out);
	free(pub);
	free(path);
	return aim_close_stdout() == -1 ? AIM_EXIT_IO : 0;
}

static int
cmd_checkpoint(int argc, char *argv[])
{
	struct sub sb;
	const char *seckey = NULL;
	char *path, *text, *why = NULL;
	int ch;

	sub_init(&sb);
	while ((ch = sub_getopt(argc, argv)) != -1) {
		if (common_opt(&sb, ch))
			continue;
		if (ch == 's')
			seckey = optarg;
		else
			usage(AIM_EXIT_USAGE);
	}
	if (optind != argc)
		usage(AIM_EXIT_USAGE);
	sub_setup(&sb);
	if (seckey != NULL)
		path = aim_abspath(seckey, NULL);
	else if ((path = aim_audit_key_path()) == NULL)
		errx(AIM_EXIT_CONFIG, "no key: use -s, or set AIM_AUDIT_KEY "
		    "or HOME");
	if (access(path, F_OK) == -1)
		errx(AIM_EXIT_CONFIG, "no key %s: make one with aim-audit "
		    "keygen", path);
	text = aim_checkpoint_make(sb.set.audit_dir, path, &why);
	if (text == NULL) {
		warnx("%s", why);
		free(why);
		free(path);
		return sub_done(&sb, errno == EACCES || errno == EPERM ||
		    errno == EINVAL ? AIM_EXIT_CONFIG : AIM_EXIT_IO);
	}
	fputs(text, stdout);
	free(text);
	free(path);
	return sub_done(&sb, 0);
}

/*
 * Verify the chain of dir, and the checkpoints cps against it (pk their
 * key); print its one line (aim-audit(1) verify).  The exit status.
 */
static int
verify_dir(const char *dir, const char **cps, size_t ncp,
    const unsigned char *pk)
{
	struct aim_checkpoint cp;
	struct aim_verify vr;
	char *why = NULL, hex[AIM_HASH_HEX_BYTES + 1];
	size_t i, checked = 0;
	json_t *out;
	int status = 0;

	memset(&vr, 0, sizeof(vr));
	if (aim_chain_verify(dir, &vr, &why) == -1) {
		warnx("%s", why);
		free(why);
		aim_verify_free(&vr);
		return AIM_EXIT_IO;
	}
	for (i = 0; i < ncp; i++) {
		if (aim_checkpoint_read(cps[i], pk, &cp, &why) == -1) {
			warnx("%s: %s", cps[i], why);
			if (strncmp(why, "can't read", 10) == 0)
				aim_exit_raise(&status, AIM_EXIT_IO);
			free(why);
			why = NULL;
			vr.problems++;
			continue;
		}
		if (aim_verify_checkpoint(&vr, cps[i], &cp) == 0)
			checked++;
	}
	aim_hex(vr.head_hash, AIM_HASH_BYTES, hex);
	out = json_pack("{s:b, s:s, s:I, s:I, s:I, s:I, s:s, s:I, s:I}",
	    "ok", vr.problems == 0, "dir", dir,
	    "entries", (json_int_t)vr.entries,
	    "first_seq", (json_int_t)vr.first_seq,
	    "last_seq", (json_int_t)vr.last_seq,
	    "head_seq", (json_int_t)vr.head_seq, "head", hex,
	    "checkpoints", (json_int_t)checked,
	    "problems", (json_int_t)vr.problems);
	aim_emit(stdout, out);
	json_decref(out);
	if (vr.problems > 0)
		aim_exit_raise(&status, AIM_EXIT_FAILED);
	aim_verify_free(&vr);
	return status;
}

static int
cmd_verify(int argc, char *argv[])
{
	unsigned char pk[AIM_PUBKEY_BYTES];
	struct sub sb;
	const char *pubkey = NULL, **cps;
	char *why = NULL, *path;
	size_t ncp = 0, k;
	int ch, status = 0;

	sub_init(&sb);
	sb.several = 1;
	cps = aim_xmalloc((size_t)(argc + 1) * sizeof(*cps));
	while ((ch = sub_getopt(argc, argv)) != -1) {
		if (common_opt(&sb, ch))
			continue;
		if (ch == 'k')
			pubkey = optarg;
		else if (ch == 'C')
			cps[ncp++] = optarg;
		else
			usage(AIM_EXIT_USAGE);
	}
	/* --checkpoint a b c: the operands are checkpoints too. */
	if (optind < argc && ncp == 0)
		usage(AIM_EXIT_USAGE);
	for (; optind < argc; optind++)
		cps[ncp++] = argv[optind];
	/* A checkpoint belongs to one chain. */
	if (ncp > 0 && sb.ndirs > 0)
		errx(AIM_EXIT_USAGE, "verify: checkpoints with one -d only");
	sub_setup(&sb);
	if (ncp > 0) {
		if (pubkey != NULL)
			path = aim_xstrdup(pubkey);
		else if ((path = aim_audit_key_path()) != NULL) {
			path = aim_xrealloc(path, strlen(path) + 5);
			strcat(path, ".pub");
		} else
			errx(AIM_EXIT_CONFIG, "no public key: use -k");
		if (aim_audit_pubkey_read(path, pk, &why) == -1) {
			warnx("%s", why);
			free(why);
			free(path);
			free(cps);
			return sub_done(&sb, AIM_EXIT_CONFIG);
		}
		free(path);
	}
	/* Each chain on its own: one line each, the worst status. */
	for (k = 0; k <= sb.ndirs; k++)
		aim_exit_raise(&status, verify_dir(sb.abs[k], cps, ncp, pk));
	free(cps);
	return sub_done(&sb, status);
}

static int
cmd_prune(int argc, char *argv[])
{
	struct sub sb;
	const char *days_arg = NULL;
	char *end, *why = NULL;
	json_t *report = NULL;
	long long days;
	int ch, dry = 0, rc;

	sub_init(&sb);
	while ((ch = sub_getopt(argc, argv)) != -1) {
		if (common_opt(&sb, ch))
			continue;
		if (ch == 'D')
			days_arg = optarg;
		else if (ch == 'n')
			dry = 1;
		else
			usage(AIM_EXIT_USAGE);
	}
	if (optind != argc)
		usage(AIM_EXIT_USAGE);
	if (days_arg != NULL) {
		errno = 0;
		days = strtoll(days_arg, &end, 10);
		if (errno || *end != '\0' || end == days_arg || days < 1 ||
		    days > 100000)
			errx(AIM_EXIT_USAGE, "--days %s: want a number of days "
			    "from 1", days_arg);
	}
	sub_setup(&sb);
	if (days_arg == NULL)
		days = sb.set.cfg.audit_log_retention_days;
	rc = aim_chain_prune(sb.set.audit_dir, days, dry, &report, &why);
	if (report != NULL) {
		aim_emit(stdout, report);
		json_decref(report);
	}
	if (rc == -1) {
		warnx("%s", why);
		free(why);
		return sub_done(&sb, AIM_EXIT_IO);
	}
	return sub_done(&sb, 0);
}

struct filter {
	const char *since, *until, *tool, *capability, *id, *kind;
	char	 since_buf[32], until_buf[32];
	size_t	 since_len, until_len;
	int	 failed, csv;
};

/*
 * A --since or --until argument as the date string entries are compared
 * with over its length: YYYY-MM-DD, optionally THH:MM[:SS[.ffffff]] and Z,
 * as given; "today" and "yesterday" as the day (UTC); an age "Nd", "Nh" or
 * "Nm" as the time (to the second) that long before now (aim-audit(1)
 * query).  Written into buf (32 bytes); its length, or a usage error.
 */
static size_t
date_arg(const char *opt, const char *s, char buf[32])
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddddd";
	struct timespec now;
	struct tm tm;
	long long n;
	char *end;
	size_t i;
	time_t t;

	for (i = 0; s[i] != '\0' && s[i] != 'Z' && i < sizeof(pat) - 1; i++)
		if (pat[i] == 'd' ? !isdigit((unsigned char)s[i]) :
		    s[i] != pat[i])
			break;
	if ((s[i] == '\0' || (s[i] == 'Z' && s[i + 1] == '\0')) &&
	    (i == 10 || i == 16 || i == 19 || (i > 20 && i <= 26))) {
		memcpy(buf, s, i);
		buf[i] = '\0';
		return i;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	t = now.tv_sec;
	errno = 0;
	if (strcmp(s, "today") == 0 || strcmp(s, "yesterday") == 0) {
		if (s[0] == 'y')
			t -= 86400;
		gmtime_r(&t, &tm);
		return strftime(buf, 32, "%Y-%m-%d", &tm);
	}
	if (isdigit((unsigned char)s[0]) && (n = strtoll(s, &end, 10)) >= 0 &&
	    errno == 0 && end[0] != '\0' && end[1] == '\0' &&
	    strchr("dhm", end[0]) != NULL &&
	    n <= 100000LL * (end[0] == 'd' ? 1 : end[0] == 'h' ? 24 : 1440)) {
		t -= (time_t)n * (end[0] == 'd' ? 86400 : end[0] == 'h' ?
		    3600 : 60);
		gmtime_r(&t, &tm);
		return strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	}
	errx(AIM_EXIT_USAGE, "%s %s: want a date YYYY-MM-DD, a time "
	    "YYYY-MM-DDTHH:MM:SS[.ffffff]Z, today, yesterday, or an age Nd, "
	    "Nh or Nm", opt, s);
}

/* --kind: invocation, prune or an event kind; else a usage error. */
static const char *
kind_arg(const char *s)
{
	const char *const *k;
	char list[512];
	size_t n;

	if (strcmp(s, "invocation") == 0 || strcmp(s, "prune") == 0 ||
	    aim_audit_event_kind(s))
		return s;
	n = (size_t)snprintf(list, sizeof(list), "invocation, prune");
	for (k = aim_audit_event_kinds(); *k != NULL && n < sizeof(list);
	    k++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, ", %s", *k);
	errx(AIM_EXIT_USAGE, "--kind %s: want one of %s", s, list);
}

/* The sum of the attempts' duration_ms, or -1 when none has one. */
static int64_t
entry_duration_ms(json_t *e)
{
	json_t *a, *d;
	int64_t sum = -1;
	size_t i;

	json_array_foreach(json_object_get(e, "attempts"), i, a) {
		d = json_object_get(a, "duration_ms");
		if (json_is_integer(d))
			sum = (sum < 0 ? 0 : sum) + json_integer_value(d);
	}
	return sum;
}

static int
str_is(json_t *v, const char *want)
{
	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

static int
matches(const struct filter *f, json_t *e)
{
	const char *ts = json_string_value(json_object_get(e, "timestamp"));
	const char *o;

	if (ts == NULL)
		return 0;
	if (f->since != NULL && strncmp(ts, f->since, f->since_len) < 0)
		return 0;
	if (f->until != NULL && strncmp(ts, f->until, f->until_len) > 0)
		return 0;
	if (f->tool != NULL && !str_is(json_object_get(e, "tool_id"), f->tool))
		return 0;
	if (f->capability != NULL && !str_is(json_object_get(e, "capability"),
	    f->capability))
		return 0;
	if (f->id != NULL && !str_is(json_object_get(e, "id"), f->id))
		return 0;
	if (f->kind != NULL && strcmp(aim_entry_kind(e), f->kind) != 0)
		return 0;
	o = aim_entry_outcome(e);
	if (f->failed && strcmp(o, "failure") != 0 && strcmp(o, "error") != 0)
		return 0;
	return 1;
}

/* One CSV field (RFC 4180): quoted when it holds a comma, quote or newline. */
static void
csv_field(const char *s, int last)
{
	if (s == NULL)
		s = "";
	if (strpbrk(s, ",\"\r\n") != NULL) {
		putchar('"');
		for (; *s != '\0'; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
	} else
		fputs(s, stdout);
	fputs(last ? "\r\n" : ",", stdout);
}

static void
csv_row(json_t *e, const char *path)
{
	char seq[32], dur[32];
	const char *o = aim_entry_outcome(e);
	int64_t d = entry_duration_ms(e);

	snprintf(seq, sizeof(seq), "%lld",
	    (long long)json_integer_value(json_object_get(e, "seq")));
	if (d >= 0)
		snprintf(dur, sizeof(dur), "%lld", (long long)d);
	else
		dur[0] = '\0';
	csv_field(seq, 0);
	csv_field(json_string_value(json_object_get(e, "timestamp")), 0);
	csv_field(aim_entry_kind(e), 0);
	csv_field(json_string_value(json_object_get(e, "actor")), 0);
	csv_field(json_string_value(json_object_get(e, "tool_id")), 0);
	csv_field(json_string_value(json_object_get(e, "capability")), 0);
	csv_field(json_string_value(json_object_get(e, "id")), 0);
	csv_field(o, 0);
	csv_field(dur, 0);
	csv_field(path, 1);
}

static int
cmd_query(int argc, char *argv[])
{
	struct filter f;
	struct aim_scan s;
	struct sub sb;
	char sday[11], uday[11], *end, full[8192];
	const char *dir;
	long long last = 0;
	size_t i, *hit, nhit = 0;
	int ch, status = 0;

	sub_init(&sb);
	sb.several = 1;
	memset(&f, 0, sizeof(f));
	while ((ch = sub_getopt(argc, argv)) != -1) {
		if (common_opt(&sb, ch))
			continue;
		switch (ch) {
		case 'C':
			f.capability = optarg;
			break;
		case 'F':
			f.failed = 1;
			break;
		case 'I':
			f.id = optarg;
			break;
		case 'K':
			f.kind = kind_arg(optarg);
			break;
		case 'n':
			errno = 0;
			last = strtoll(optarg, &end, 10);
			if (errno || *end != '\0' || end == optarg || last < 1)
				errx(AIM_EXIT_USAGE, "-n %s: want a number of "
				    "entries from 1", optarg);
			break;
		case 'S':
			f.since_len = date_arg("--since", optarg, f.since_buf);
			f.since = f.since_buf;
			break;
		case 'T':
			f.tool = optarg;
			break;
		case 'U':
			f.until_len = date_arg("--until", optarg, f.until_buf);
			f.until = f.until_buf;
			break;
		case 'v':
			f.csv = 1;
			break;
		default:
			usage(AIM_EXIT_USAGE);
		}
	}
	if (optind != argc)
		usage(AIM_EXIT_USAGE);
	sub_setup(&sb);
	if (f.since)
		snprintf(sday, sizeof(sday), "%.10s", f.since);
	if (f.until)
		snprintf(uday, sizeof(uday), "%.10s", f.until);
	status = scan_dirs(&sb, &s, f.since ? sday : NULL, f.until ? uday :
	    NULL);
	if (f.csv)
		fputs("seq,timestamp,kind,actor,tool_id,capability,id,outcome,"
		    "duration_ms,path\r\n", stdout);
	/* The matches oldest first; with -n only the newest of them. */
	hit = aim_xmalloc((s.n + 1) * sizeof(*hit));
	for (i = 0; i < s.n; i++)
		if (s.v[i].json != NULL && matches(&f, s.v[i].json))
			hit[nhit++] = i;
	for (i = last > 0 && (size_t)last < nhit ? nhit - (size_t)last : 0;
	    i < nhit && !ferror(stdout); i++) {
		dir = json_string_value(json_object_get(s.v[hit[i]].json,
		    "audit_dir"));
		snprintf(full, sizeof(full), "%s/%s", dir ? dir :
		    sb.set.audit_dir, s.v[hit[i]].path);
		if (f.csv)
			csv_row(s.v[hit[i]].json, full);
		else
			aim_emit(stdout, s.v[hit[i]].json);
	}
	free(hit);
	aim_chain_scan_free(&s);
	return sub_done(&sb, status);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile p of the n sorted values. */
static int64_t
percentile(const int64_t *v, size_t n, int p)
{
	size_t k = (n * (size_t)p + 99) / 100;

	return v[k > 0 ? k - 1 : 0];
}

static void
count(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	json_object_set_new(obj, key, json_integer(json_integer_value(v) + 1));
}

struct durations {
	int64_t	*v;
	size_t	 n, cap;
};

/* The by_tool object of tool, made with zero counts when new. */
static json_t *
tool_entry(json_t *tools, struct durations **dv, size_t *ntools,
    const char *tool)
{
	json_t *t;

	if ((t = json_object_get(tools, tool)) == NULL) {
		t = json_pack("{s:i, s:i, s:i, s:i, s:{}, s:{}, s:i, s:I}",
		    "attempts", 0, "success", 0, "failure", 0, "skipped", 0,
		    "by_outcome", "by_error_class", "served", 0, "_dv",
		    (json_int_t)*ntools);
		*dv = aim_xrealloc(*dv, (*ntools + 1) * sizeof(**dv));
		memset(&(*dv)[(*ntools)++], 0, sizeof(**dv));
		json_object_set_new(tools, tool, t);
	}
	return t;
}

/*
 * Add a record's spend (aim_entry_spend) to by_day's day of ts, its cost
 * to *total_usd (aim-audit(1) stats).
 */
static void
count_spend(json_t *by_day, const char *ts, json_t *e, double *total_usd)
{
	json_t *spend = aim_entry_spend(e), *t, *v, *day, *into, *x;
	const char *tool, *key;
	char d[11];

	snprintf(d, sizeof(d), "%s", ts != NULL ? ts : "");
	json_object_foreach(spend, tool, t) {
		if ((day = json_object_get(by_day, d)) == NULL)
			json_object_set_new(by_day, d, day = json_object());
		if ((into = json_object_get(day, tool)) == NULL)
			json_object_set_new(day, tool, into = json_object());
		json_object_foreach(t, key, v) {
			x = json_object_get(into, key);
			json_object_set_new(into, key, json_real(
			    json_number_value(x) + json_number_value(v)));
		}
		*total_usd += json_number_value(json_object_get(t, "cost_usd"));
	}
	json_decref(spend);
}

/* The per-tool counts of one attempt into by_tool (aim-audit(1) stats). */
static void
count_attempt(json_t *tools, struct durations **dv, size_t *ntools, json_t *a)
{
	const char *tool = json_string_value(json_object_get(a, "tool_id"));
	const char *o = json_string_value(json_object_get(a, "outcome"));
	const char *cls;
	json_t *t, *d;
	struct durations *x;

	if (tool == NULL || o == NULL)
		return;
	t = tool_entry(tools, dv, ntools, tool);
	if (strcmp(o, "skipped") == 0) {
		count(t, "skipped");
		return;
	}
	count(t, "attempts");
	if (strcmp(o, "success") == 0)
		count(t, "success");
	else {
		count(t, "failure");
		count(json_object_get(t, "by_outcome"), o);
		if ((cls = json_string_value(json_object_get(a,
		    "error_class"))) != NULL)
			count(json_object_get(t, "by_error_class"), cls);
	}
	d = json_object_get(a, "duration_ms");
	if (json_is_integer(d) && json_integer_value(d) >= 0) {
		x = &(*dv)[json_integer_value(json_object_get(t, "_dv"))];
		if (x->n == x->cap) {
			x->cap = x->cap ? 2 * x->cap : 16;
			x->v = aim_xrealloc(x->v, x->cap * sizeof(*x->v));
		}
		x->v[x->n++] = json_integer_value(d);
	}
}

/*
 * Each tool's success_rate and duration percentiles from its counts and
 * the durations dv kept for it (aim-audit(1) stats); dv freed.
 */
static void
tool_summaries(json_t *tools, struct durations *dv)
{
	struct durations *x;
	const char *key;
	json_t *t, *d;
	int64_t n_ok, n_all;

	json_object_foreach(tools, key, t) {
		x = &dv[json_integer_value(json_object_get(t, "_dv"))];
		json_object_del(t, "_dv");
		n_ok = json_integer_value(json_object_get(t, "success"));
		n_all = json_integer_value(json_object_get(t, "attempts"));
		json_object_set_new(t, "success_rate", n_all > 0 ?
		    json_real((double)n_ok / (double)n_all) : json_null());
		if (x->n > 0) {
			qsort(x->v, x->n, sizeof(*x->v), cmp_i64);
			d = json_pack("{s:I, s:I, s:I, s:I, s:I}",
			    "p50", (json_int_t)percentile(x->v, x->n, 50),
			    "p90", (json_int_t)percentile(x->v, x->n, 90),
			    "p99", (json_int_t)percentile(x->v, x->n, 99),
			    "min", (json_int_t)x->v[0],
			    "max", (json_int_t)x->v[x->n - 1]);
		} else
			d = json_null();
		json_object_set_new(t, "duration_ms", d);
		free(x->v);
	}
	free(dv);
}

static int
cmd_stats(int argc, char *argv[])
{
	struct aim_scan s;
	struct sub sb;
	json_t *out, *kinds, *tools, *caps, *outcomes, *e, *d, *a, *by_day;
	const char *ts, *oldest = NULL, *newest = NULL, *tool, *o, *key;
	struct durations *dv = NULL;
	double cost_usd = 0;
	int64_t size = 0, unserved = 0;
	size_t i, j, ntools = 0;
	int ch, status = 0;

	sub_init(&sb);
	sb.several = 1;
	while ((ch = sub_getopt(argc, argv)) != -1)
		if (!common_opt(&sb, ch))
			usage(AIM_EXIT_USAGE);
	if (optind != argc)
		usage(AIM_EXIT_USAGE);
	status = sub_scan(&sb, &s);
	kinds = json_object();
	tools = json_object();
	caps = json_object();
	outcomes = json_object();
	by_day = json_object();
	for (i = 0; i < s.n; i++) {
		size += (int64_t)s.v[i].size_bytes;
		if ((e = s.v[i].json) == NULL)
			continue;
		ts = json_string_value(json_object_get(e, "timestamp"));
		if (ts != NULL && (oldest == NULL || strcmp(ts, oldest) < 0))
			oldest = ts;
		if (ts != NULL && (newest == NULL || strcmp(ts, newest) > 0))
			newest = ts;
		count(kinds, aim_entry_kind(e));
		if (json_object_get(e, "kind") != NULL)
			continue;
		o = aim_entry_outcome(e);
		count(outcomes, o);
		if ((key = json_string_value(json_object_get(e,
		    "capability"))) != NULL)
			count(caps, key);
		/* Every attempt counts for its own tool. */
		json_array_foreach(json_object_get(e, "attempts"), j, a)
			count_attempt(tools, &dv, &ntools, a);
		count_spend(by_day, ts, e, &cost_usd);
		/* A record no tool served is no tool's, not a tool "none". */
		if (strcmp(o, "failure") == 0 || strcmp(o, "error") == 0)
			unserved++;
		else if (strcmp(o, "success") == 0 && (tool =
		    json_string_value(json_object_get(e, "tool_id"))) != NULL)
			count(tool_entry(tools, &dv, &ntools, tool), "served");
	}
	tool_summaries(tools, dv);
	out = json_pack("{s:s, s:I, s:I, s:s?, s:s?, s:o, s:o, s:I, s:o, s:o}",
	    "dir", sb.set.audit_dir, "entries", (json_int_t)s.n, "size_bytes",
	    (json_int_t)size, "oldest", oldest, "newest", newest,
	    "by_kind", kinds, "by_outcome", outcomes, "unserved",
	    (json_int_t)unserved, "by_tool", tools, "by_capability", caps);
	/* A trail that says nothing of cost keeps the shape it had. */
	if (json_object_size(by_day) > 0) {
		json_object_set_new(out, "cost_usd", json_real(cost_usd));
		json_object_set(out, "spend_by_day", by_day);
	}
	json_decref(by_day);
	if (sb.ndirs > 0) {
		json_object_set_new(out, "dirs", d = json_array());
		for (i = 0; i <= sb.ndirs; i++)
			json_array_append_new(d, json_string(sb.abs[i]));
	}
	if (oldest == NULL)
		json_object_set_new(out, "oldest", json_null());
	if (newest == NULL)
		json_object_set_new(out, "newest", json_null());
	aim_emit(stdout, out);
	json_decref(out);
	aim_chain_scan_free(&s);
	return sub_done(&sb, status);
}

static int
cmd_metrics(int argc, char *argv[])
{
	struct aim_scan s;
	struct sub sb;
	const char *textfile = NULL;
	char *text;
	size_t len;
	int ch, status = 0;

	sub_init(&sb);
	while ((ch = sub_getopt(argc, argv)) != -1) {
		if (ch == 'X')
			textfile = optarg;
		else if (!common_opt(&sb, ch))
			usage(AIM_EXIT_USAGE);
	}
	if (optind != argc)
		usage(AIM_EXIT_USAGE);
	status = sub_scan(&sb, &s);
	text = aim_metrics_text(&s, sb.set.registry_dir, &sb.set.cfg, &len);
	/* Through a rename, as node_exporter's textfile collector wants. */
	if (textfile != NULL) {
		if (aim_write_atomic(textfile, text, len, 0644, 0, NULL) == -1) {
			warn("%s", textfile);
			aim_exit_raise(&status, AIM_EXIT_IO);
		}
	} else
		fwrite(text, 1, len, stdout);
	free(text);
	aim_chain_scan_free(&s);
	return sub_done(&sb, status);
}

static const struct {
	const char *name;
	int	(*fn)(int, char *[]);
} subcommands[] = {
	{ "checkpoint", cmd_checkpoint },
	{ "keygen", cmd_keygen },
	{ "metrics", cmd_metrics },
	{ "prune", cmd_prune },
	{ "query", cmd_query },
	{ "stats", cmd_stats },
	{ "verify", cmd_verify },
	{ NULL, NULL }
};

/* A global option into global_opt, global_dir; 0 when not one. */
static int
take_global(int ch)
{
	switch (ch) {
	case 'c':
		global_opt.config = optarg;
		break;
	case 'd':
		global_dir = optarg;
		break;
	case 'H':
		global_human = 1;
		break;
	case 'h':
		usage(0);
	case 'r':
		global_opt.registry = optarg;
		break;
	case 'V':
		printf("%s %s\n", progname, AIM_VERSION);
		exit(0);
	default:
		return 0;
	}
	return 1;
}

/*
 * The first operand names no command and no file, and reads like a
 * command (lowercase letters): a mistyped one, not a file for the filter.
 */
static int
unknown_command(const char *a)
{
	return *a != '\0' && strspn(a, "abcdefghijklmnopqrstuvwxyz") ==
	    strlen(a) && access(a, F_OK) == -1 && errno == ENOENT;
}

int
main(int argc, char *argv[])
{
	struct aim_options opt;
	const char *opt_dir;
	struct audit au;
	int ch, i;

	aim_std_fds();
	memset(&au, 0, sizeof(au));
	argv[0] = (char *)progname;
	opterr = 0;
	/* The global options, up to the command or the first file. */
	while ((ch = getopt_long(argc, argv, "+:H" GLOBAL_SHORTS, global_longs,
	    NULL)) != -1)
		if (!take_global(ch))
			bad_option(NULL, argv, ch);
	if (optind < argc && (cur = sub_find(argv[optind])) != NULL) {
		if (global_human) {
			warnx("-H: only the filter shows records in words");
			usage(AIM_EXIT_USAGE);
		}
		for (i = 0; strcmp(subcommands[i].name, cur->name) != 0; i++)
			continue;
		argc -= optind;
		argv += optind;
		optind = 0;
		return subcommands[i].fn(argc, argv);
	}
	if (optind < argc && unknown_command(argv[optind])) {
		warnx("unknown command '%s'", argv[optind]);
		usage(AIM_EXIT_USAGE);
	}
	/* The filter's job is its output: without one, log nothing. */
	if (aim_std_fds() == -1)
		errx(AIM_EXIT_IO, "standard output is closed");
	/* The filter: the global options anywhere among the files too. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":H" GLOBAL_SHORTS, global_longs,
	    NULL)) != -1)
		if (!take_global(ch))
			bad_option(NULL, argv, ch);
	opt = global_opt;
	opt_dir = global_dir;
	argc -= optind;
	argv += optind;

	/* Keep logging with defaults: losing the trail is worse. */
	aim_setup_load(&au.set, &opt, opt_dir, AIM_SETUP_WARN |
	    AIM_SETUP_AUDIT_DIR | AIM_SETUP_FALLBACK);
	au.status = au.set.status;
	if (au.set.audit_dir != NULL && opt_dir == NULL &&
	    au.set.registry_dir == NULL && au.set.cfg.audit_dir == NULL &&
	    (getenv("AIM_AUDIT_DIR") == NULL ||
	    *getenv("AIM_AUDIT_DIR") == '\0'))
		warnx("no registry found; writing audit entries to %s",
		    au.set.audit_dir);
	if (redact_vault() == -1)
		aim_exit_raise(&au.status, AIM_EXIT_CONFIG);

	au.max = au.set.cfg.audit_group_max < GROUP_LIMIT ?
	    (size_t)au.set.cfg.audit_group_max : GROUP_LIMIT;
	au.group = aim_xmalloc(au.max * sizeof(*au.group));
	if (aim_each_line_idle(argv, argc, MAX_RECORD_BYTES, audit_one,
	    group_commit, &au) == -1)
		aim_exit_raise(&au.status, AIM_EXIT_IO);

	if (aim_close_stdout() == -1)
		aim_exit_raise(&au.status, AIM_EXIT_IO);
	free(au.group);
	aim_setup_free(&au.set);
	return au.status;
}
