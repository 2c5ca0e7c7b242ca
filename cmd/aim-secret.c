/* aim-secret: the encrypted secret vault (issue 4): set, get, list, rm, rekey. */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "aim.h"

#define NAME_MAX_BYTES	255
#define VALUE_MAX_BYTES	(1024 * 1024)
#define PASS_MAX_BYTES	4096
#define DESC_MAX_BYTES	1024	/* the format has room for 65535 */

/* Exit statuses beyond the common ones: a name that is not there. */
#define EXIT_NO_SECRET	AIM_EXIT_FAILED

static const char *progname = "aim-secret";

/*
 * The global options, then the commands and their own options (struct
 * aim_subcmd, cli.c), for the convention of aim(7) COMMAND LINES:
 * global options before the command (or after it), a command's own
 * options after it.
 */
#define GLOBALS_SYNOPSIS "[-f vault] [-k keyfile] [--passphrase-fd fd]"
#define GLOBAL_SHORTS	"f:hk:V"
static const struct option global_longs[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "passphrase-fd", required_argument, NULL, 'P' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};
static const char global_help[] =
    "  -f vault              the vault (default $AIM_VAULT, "
    "else $XDG_DATA_HOME/aim/vault)\n"
    "  -k keyfile            the key file (default $AIM_VAULT_KEYFILE)\n"
    "  --passphrase-fd fd    read the passphrase from fd, not the "
    "terminal\n"
    "  -h, --help            print this help and exit\n"
    "  -V, --version         print the version and exit\n";
static const struct option keyfile_longs[] = {
	{ "keyfile", required_argument, NULL, 'K' },
	{ NULL, 0, NULL, 0 }
};
static const struct option set_longs[] = {
	{ "allow-empty", no_argument, NULL, 'E' },
	{ NULL, 0, NULL, 0 }
};
static const struct option no_longs[] = {
	{ NULL, 0, NULL, 0 }
};
static const char keyfile_help[] =
    "  --keyfile file        init, rekey: create file and open the vault "
    "with it\n";
static const struct aim_subcmd subcmds[] = {
	{ "init", "", keyfile_longs, "init [--keyfile file]", keyfile_help },
	{ "set", "d:", set_longs, "set [--allow-empty] [-d description] name",
	    "  --allow-empty         set: store an empty value\n"
	    "  -d description        set: describe the secret\n" },
	{ "get", "", no_longs, "get name", "" },
	{ "list", "", no_longs, "list", "" },
	{ "rm", "", no_longs, "rm name", "" },
	{ "rekey", "", keyfile_longs, "rekey [--keyfile file]", keyfile_help },
	{ "path", "", no_longs, "path", "" },
	{ NULL, NULL, NULL, NULL, NULL }
};

static void __attribute__((noreturn))
usage(int status)
{
	FILE *f = status ? stderr : stdout;
	int i, j;

	fprintf(f, "usage: %s " GLOBALS_SYNOPSIS " command [args]\n",
	    progname);
	for (i = 0; subcmds[i].name != NULL; i++)
		fprintf(f, "       %s %s\n", progname, subcmds[i].synopsis);
	if (status == 0) {
		fputs(global_help, f);
		for (i = 0; subcmds[i].name != NULL; i++) {
			for (j = 0; j < i; j++)
				if (subcmds[j].help == subcmds[i].help)
					break;
			if (j == i)
				fputs(subcmds[i].help, f);
		}
		fprintf(f, "See %s(1).\n", progname);
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

struct secret_cli {
	const char *vault;
	const char *keyfile;
	int	 passfd;
	unsigned char *pass;	/* sodium_malloc */
	size_t	 passlen;
	const char *newkey;	/* init, rekey --keyfile */
	const char *desc;	/* set -d */
	int	 allow_empty;	/* set --allow-empty */
};

/* Exit status for a vault error: 4 for I/O, 3 for everything unusable. */
static int
vault_exit(int code)
{
	return code == AIM_VAULT_IO ? AIM_EXIT_IO : AIM_EXIT_CONFIG;
}

static void __attribute__((noreturn))
die_vault(int code, char *why)
{
	warnx("%s", why);
	free(why);
	exit(vault_exit(code));
}

/* Read up to max bytes from fd into sodium memory; strip one final newline. */
static unsigned char *
read_secret_fd(int fd, size_t max, size_t *len, const char *what)
{
	unsigned char *buf;
	size_t off = 0;
	ssize_t n;

	/* Room for the limit, its newline, and one byte to see it passed. */
	if ((buf = sodium_malloc(max + 3)) == NULL)
		errx(AIM_EXIT_IO, "out of secure memory");
	for (;;) {
		n = read(fd, buf + off, max + 2 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			err(AIM_EXIT_IO, "can't read %s", what);
		if (n == 0 || (off += n) == max + 2)
			break;
	}
	if (off > 0 && buf[off - 1] == '\n')
		off--;
	if (off > max)
		errx(AIM_EXIT_USAGE, "%s is longer than %zu bytes", what, max);
	buf[off] = '\0';
	*len = off;
	return buf;
}

/* Ask on the terminal without echo; NULL when there is no terminal. */
static unsigned char *
ask_tty(const char *prompt, size_t max, size_t *len)
{
	struct termios old, quiet;
	unsigned char *buf;
	size_t off = 0;
	char c;
	int fd;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC)) == -1)
		return NULL;
	if (tcgetattr(fd, &old) == -1) {
		close(fd);
		return NULL;
	}
	if ((buf = sodium_malloc(max + 1)) == NULL)
		errx(AIM_EXIT_IO, "out of secure memory");
	quiet = old;
	quiet.c_lflag &= ~(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	/* The prompt after the flush: what is typed once it shows is kept. */
	tcsetattr(fd, TCSAFLUSH, &quiet);
	(void)write(fd, prompt, strlen(prompt));
	while (read(fd, &c, 1) == 1 && c != '\n' && c != '\r')
		if (off++ < max)
			buf[off - 1] = c;
	tcsetattr(fd, TCSAFLUSH, &old);
	(void)write(fd, "\n", 1);
	close(fd);
	c = 0;
	if (off > max)
		errx(AIM_EXIT_USAGE, "the input is longer than %zu bytes", max);
	buf[off] = '\0';
	*len = off;
	return buf;
}

/* The passphrase: --passphrase-fd, else the terminal (twice when new). */
static void
get_passphrase(struct secret_cli *cli, int new)
{
	unsigned char *again;
	size_t alen;

	if (cli->pass != NULL)
		return;
	if (cli->passfd >= 0) {
		cli->pass = read_secret_fd(cli->passfd, PASS_MAX_BYTES,
		    &cli->passlen, "the passphrase");
		if (new && cli->passlen == 0)
			errx(AIM_EXIT_USAGE, "an empty passphrase is no "
			    "protection");
		return;
	}
	cli->pass = ask_tty(new ? "new vault passphrase: " :
	    "vault passphrase: ", PASS_MAX_BYTES, &cli->passlen);
	if (cli->pass == NULL && new)
		errx(AIM_EXIT_USAGE, "no terminal for a passphrase: use "
		    "--passphrase-fd, or init --keyfile FILE");
	if (cli->pass == NULL)
		errx(AIM_EXIT_CONFIG, "no key: set AIM_VAULT_KEYFILE, use -k, "
		    "or give a passphrase with --passphrase-fd");
	if (!new)
		return;
	again = ask_tty("again: ", PASS_MAX_BYTES, &alen);
	if (again == NULL || alen != cli->passlen ||
	    sodium_memcmp(again, cli->pass, alen) != 0)
		errx(AIM_EXIT_USAGE, "the passphrases differ");
	sodium_free(again);
	if (cli->passlen == 0)
		errx(AIM_EXIT_USAGE, "an empty passphrase is no protection");
}

static struct aim_unlock
unlock_of(struct secret_cli *cli)
{
	struct aim_unlock u = { cli->keyfile, cli->pass, cli->passlen };

	return u;
}

/* Open the vault, asking for the passphrase only when it wants one. */
static void
open_vault(struct aim_vault *v, struct secret_cli *cli, int lock)
{
	struct aim_unlock u = unlock_of(cli);
	char *why = NULL;
	int rc;

	rc = aim_vault_open(v, cli->vault, &u, lock, &why);
	if (rc == AIM_VAULT_NOKEY && v->kdf == 1 && cli->keyfile == NULL) {
		free(why);
		why = NULL;
		aim_vault_close(v);
		get_passphrase(cli, 0);
		u = unlock_of(cli);
		rc = aim_vault_open(v, cli->vault, &u, lock, &why);
	}
	if (rc != AIM_VAULT_OK)
		die_vault(rc, why);
}

static int
valid_name(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > NAME_MAX_BYTES || s[0] == '/' || s[n - 1] == '/' ||
	    strstr(s, "//") != NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') && strchr("._-/", s[i]) == NULL)
			return 0;
	return 1;
}

static const char *
need_name(int argc, char *argv[])
{
	if (argc != 1)
		usage(AIM_EXIT_USAGE);
	if (!valid_name(argv[0]))
		errx(AIM_EXIT_USAGE, "bad secret name '%s': letters, digits, "
		    "'.', '_', '-' in parts joined by '/' (anthropic/api_key)",
		    argv[0]);
	return argv[0];
}

static int
cmd_init(struct secret_cli *cli, int argc, char *argv[])
{
	const char *kf = cli->newkey;
	struct aim_unlock u = { NULL, NULL, 0 };
	struct aim_vault v;
	char *why = NULL;
	int rc;

	if (argc != 0)
		usage(AIM_EXIT_USAGE);
	if (access(cli->vault, F_OK) == 0)
		errx(AIM_EXIT_CONFIG, "vault %s exists already", cli->vault);
	if (kf != NULL) {
		if ((rc = aim_vault_keyfile_create(kf, &why)) != AIM_VAULT_OK)
			die_vault(rc, why);
		u.keyfile = kf;
	} else {
		get_passphrase(cli, 1);
		u = unlock_of(cli);
		u.keyfile = NULL;
	}
	if ((rc = aim_vault_create(&v, cli->vault, &u, &why)) != AIM_VAULT_OK) {
		/* A key file for no vault would only mislead. */
		if (kf != NULL)
			unlink(kf);
		die_vault(rc, why);
	}
	aim_vault_close(&v);
	return 0;
}

/*
 * Put a management event on the audit trail (issue 5): the secret's name
 * and the vault, never its value.  Only when an audit directory resolves:
 * $AIM_AUDIT_DIR > the configuration's audit_dir > the registry's
 * AIM_audit (aim-secret(1)); no fallback, so a vault used without any aim
 * setup leaves no trail of its own.  A failure to log is a warning only.
 */
static void
log_event(struct secret_cli *cli, const char *kind, const char *name)
{
	struct aim_options opt = { NULL, NULL };
	char *why = NULL;
	json_t *d;

	d = json_pack("{s:s, s:s}", "name", name, "vault", cli->vault);
	if (aim_audit_event_here(&opt, kind, d, &why) == -1)
		warnx("can't log %s of %s in %s", kind, name, why);
	json_decref(d);
	free(why);
}

static int
cmd_set(struct secret_cli *cli, int argc, char *argv[])
{
	const char *desc = cli->desc, *name;
	unsigned char *value;
	struct aim_vault v;
	char prompt[NAME_MAX_BYTES + 32], *why = NULL;
	size_t len;
	int rc, allow_empty = cli->allow_empty;

	name = need_name(argc, argv);
	if (desc != NULL && strlen(desc) > DESC_MAX_BYTES)
		errx(AIM_EXIT_USAGE, "the description is longer than %d bytes",
		    DESC_MAX_BYTES);
	if (cli->passfd == STDIN_FILENO && !isatty(STDIN_FILENO))
		errx(AIM_EXIT_USAGE, "--passphrase-fd 0 and the value both read "
		    "the standard input: give the passphrase on another "
		    "descriptor (--passphrase-fd 3 3<file)");
	if (isatty(STDIN_FILENO)) {
		snprintf(prompt, sizeof(prompt), "value for %s: ", name);
		if ((value = ask_tty(prompt, VALUE_MAX_BYTES, &len)) == NULL)
			errx(AIM_EXIT_IO, "can't read the value");
	} else
		value = read_secret_fd(STDIN_FILENO, VALUE_MAX_BYTES, &len,
		    "the value");
	if (len == 0 && !allow_empty) {
		sodium_free(value);
		errx(AIM_EXIT_USAGE, "the value for %s is empty (an unset "
		    "variable?): give --allow-empty to store it", name);
	}
	open_vault(&v, cli, 1);
	if (aim_vault_set(&v, name, desc, value, len, time(NULL)) == -1)
		errx(AIM_EXIT_IO, "out of secure memory");
	sodium_free(value);
	if ((rc = aim_vault_save(&v, &why)) != AIM_VAULT_OK)
		die_vault(rc, why);
	aim_vault_close(&v);
	log_event(cli, "secret_set", name);
	return 0;
}

static int
cmd_get(struct secret_cli *cli, int argc, char *argv[])
{
	const struct aim_vault_secret *s;
	const char *name = need_name(argc, argv);
	struct aim_vault v;

	open_vault(&v, cli, 0);
	if ((s = aim_vault_get(&v, name)) == NULL) {
		warnx("no secret %s in %s", name, cli->vault);
		aim_vault_close(&v);
		return EXIT_NO_SECRET;
	}
	fwrite(s->value, 1, s->value_len, stdout);
	if (isatty(STDOUT_FILENO))
		putchar('\n');
	aim_vault_close(&v);
	log_event(cli, "secret_get", name);
	return 0;
}

static json_t *
iso(int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static int
cmd_list(struct secret_cli *cli, int argc, char *argv[])
{
	struct aim_vault v;
	size_t i;
	json_t *r;
	int status = 0;

	if (argc != 0)
		usage(AIM_EXIT_USAGE);
	open_vault(&v, cli, 0);
	for (i = 0; i < v.n; i++) {
		r = json_pack("{s:s, s:s, s:o, s:o}", "name", v.v[i].name,
		    "description", v.v[i].description,
		    "created_at", iso(v.v[i].created_at),
		    "updated_at", iso(v.v[i].updated_at));
		if (r == NULL || aim_emit(stdout, r) == -1)
			status = AIM_EXIT_IO;
		json_decref(r);
	}
	aim_vault_close(&v);
	return status;
}

static int
cmd_rm(struct secret_cli *cli, int argc, char *argv[])
{
	const char *name = need_name(argc, argv);
	struct aim_vault v;
	char *why = NULL;
	int rc;

	open_vault(&v, cli, 1);
	if (aim_vault_rm(&v, name) == -1) {
		warnx("no secret %s in %s", name, cli->vault);
		aim_vault_close(&v);
		return EXIT_NO_SECRET;
	}
	if ((rc = aim_vault_save(&v, &why)) != AIM_VAULT_OK)
		die_vault(rc, why);
	aim_vault_close(&v);
	log_event(cli, "secret_delete", name);
	return 0;
}

static int
cmd_rekey(struct secret_cli *cli, int argc, char *argv[])
{
	const char *kf = cli->newkey;
	struct aim_unlock u = { NULL, NULL, 0 };
	struct aim_vault v;
	unsigned char *newpass, *again;
	size_t newlen, alen;
	char *why = NULL;
	int rc;

	if (argc != 0)
		usage(AIM_EXIT_USAGE);
	open_vault(&v, cli, 1);
	if (kf != NULL) {
		if ((rc = aim_vault_keyfile_create(kf, &why)) != AIM_VAULT_OK)
			die_vault(rc, why);
		u.keyfile = kf;
	} else {
		/* The new passphrase: the terminal, or the line after the old. */
		if (cli->passfd >= 0 && cli->pass != NULL)
			errx(AIM_EXIT_USAGE, "rekey to a passphrase reads it "
			    "from the terminal; use --keyfile for scripts");
		newpass = ask_tty("new vault passphrase: ", PASS_MAX_BYTES,
		    &newlen);
		if (newpass == NULL)
			errx(AIM_EXIT_USAGE, "rekey to a passphrase needs a "
			    "terminal; use --keyfile FILE");
		again = ask_tty("again: ", PASS_MAX_BYTES, &alen);
		if (again == NULL || alen != newlen || newlen == 0 ||
		    sodium_memcmp(again, newpass, alen) != 0)
			errx(AIM_EXIT_USAGE, "the passphrases differ or are "
			    "empty");
		sodium_free(again);
		u.pass = newpass;
		u.passlen = newlen;
	}
	if ((rc = aim_vault_rekey(&v, &u, &why)) != AIM_VAULT_OK)
		die_vault(rc, why);
	if (u.pass != NULL)
		sodium_free((void *)u.pass);
	aim_vault_close(&v);
	return 0;
}

/* One option of either pass into cli; 0 when it is not one. */
static int
take(struct secret_cli *cli, int ch)
{
	char *end;

	switch (ch) {
	case 'd':
		cli->desc = optarg;
		break;
	case 'E':
		cli->allow_empty = 1;
		break;
	case 'f':
		cli->vault = optarg;
		break;
	case 'K':
		cli->newkey = optarg;
		break;
	case 'k':
		cli->keyfile = optarg;
		break;
	case 'P':
		errno = 0;
		cli->passfd = strtol(optarg, &end, 10);
		if (errno || *end != '\0' || cli->passfd < 0)
			errx(AIM_EXIT_USAGE, "--passphrase-fd %s: want a "
			    "descriptor number", optarg);
		break;
	case 'V':
		printf("%s %s\n", progname, AIM_VERSION);
		exit(0);
	default:
		return 0;
	}
	return 1;
}

int
main(int argc, char *argv[])
{
	struct option longs[8];
	char shorts[32];
	const struct aim_subcmd *cmd;
	struct secret_cli cli;
	char *path = NULL;
	size_t n = 0, i;
	int ch, status;

	aim_std_fds();
	memset(&cli, 0, sizeof(cli));
	cli.passfd = -1;
	argv[0] = (char *)progname;
	opterr = 0;
	/* The global options, up to the command. */
	while ((ch = getopt_long(argc, argv, "+:" GLOBAL_SHORTS, global_longs,
	    NULL)) != -1) {
		if (ch == 'h')
			usage(0);
		if (!take(&cli, ch))
			bad_option(NULL, argv, ch);
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage(AIM_EXIT_USAGE);
	if ((cmd = sub_find(argv[0])) == NULL) {
		warnx("unknown command '%s'", argv[0]);
		usage(AIM_EXIT_USAGE);
	}
	/* Its own options and the global ones again, anywhere after it. */
	for (i = 0; global_longs[i].name != NULL; i++)
		longs[n++] = global_longs[i];
	for (i = 0; cmd->longs[i].name != NULL; i++)
		longs[n++] = cmd->longs[i];
	memset(&longs[n], 0, sizeof(longs[n]));
	snprintf(shorts, sizeof(shorts), ":%s%s", GLOBAL_SHORTS, cmd->shorts);
	optind = 0;
	while ((ch = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		if (ch == 'h')
			sub_usage(cmd);
		if (!take(&cli, ch))
			bad_option(cmd, argv, ch);
	}
	argc -= optind;
	argv += optind;
	if (aim_vault_setup() == -1)
		errx(AIM_EXIT_IO, "can't initialise libsodium");
	if (cli.vault == NULL && (cli.vault = path =
	    aim_vault_default_path()) == NULL)
		errx(AIM_EXIT_CONFIG, "no vault path: set AIM_VAULT or HOME");
	if (cli.keyfile == NULL && (cli.keyfile = getenv("AIM_VAULT_KEYFILE"))
	    != NULL && *cli.keyfile == '\0')
		cli.keyfile = NULL;

	if (strcmp(cmd->name, "init") == 0)
		status = cmd_init(&cli, argc, argv);
	else if (strcmp(cmd->name, "set") == 0)
		status = cmd_set(&cli, argc, argv);
	else if (strcmp(cmd->name, "get") == 0)
		status = cmd_get(&cli, argc, argv);
	else if (strcmp(cmd->name, "list") == 0)
		status = cmd_list(&cli, argc, argv);
	else if (strcmp(cmd->name, "rm") == 0)
		status = cmd_rm(&cli, argc, argv);
	else if (strcmp(cmd->name, "rekey") == 0)
		status = cmd_rekey(&cli, argc, argv);
	else {
		if (argc != 0)
			usage(AIM_EXIT_USAGE);
		printf("%s\n", cli.vault);	/* path */
		status = 0;
	}
	if (cli.pass != NULL)
		sodium_free(cli.pass);
	free(path);
	if (aim_close_stdout() == -1)
		aim_exit_raise(&status, AIM_EXIT_IO);
	return status;
}
