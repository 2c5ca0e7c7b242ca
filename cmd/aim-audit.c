/*
 * aim-audit: one durable audit entry per record (seed 002 §5); every record
 * passes through with "audit":{"path":...} added, so it can sit anywhere in
 * a pipeline.
 */
#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aim.h"

#define MAX_RECORD_BYTES	(64 * 1024 * 1024)

static const char *progname = "aim-audit";

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: %s [-c config] [-d dir] [-r registry] [file ...]\n",
	    progname);
	exit(status);
}

struct audit {
	struct aim_config cfg;
	char	*dir;
	int	 status;
};

/*
 * Where entries go: -d > $AIM_AUDIT_DIR > config audit_dir > the registry's
 * AIM_audit/ > $XDG_STATE_HOME/aim/AIM_audit, so that even a run without a
 * registry leaves its failures on record.
 */
static char *
audit_dir(const char *opt_dir, const char *registry_dir,
    const struct aim_config *cfg)
{
	char buf[PATH_MAX], *dir;
	const char *env;

	if (opt_dir != NULL)
		return aim_abspath(opt_dir, NULL);
	if ((env = getenv("AIM_AUDIT_DIR")) != NULL && *env != '\0')
		return aim_abspath(env, NULL);
	if (cfg->audit_dir != NULL)
		return aim_xstrdup(cfg->audit_dir);
	if (registry_dir != NULL) {
		snprintf(buf, sizeof(buf), "%s/AIM_audit", registry_dir);
		return aim_xstrdup(buf);
	}
	if ((dir = aim_xdg_path("XDG_STATE_HOME", ".local/state",
	    "AIM_audit")) != NULL)
		warnx("no registry found; writing audit entries to %s", dir);
	return dir;
}

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

static void
audit_line(struct audit *au, const struct aim_line *line, const char *source)
{
	char iso[32], stamp[32], day[16], buf[256], *path, *why;
	json_t *rec, *entry, *result;
	int is_error;

	if (line->too_long) {
		snprintf(buf, sizeof(buf), "record is longer than %d bytes",
		    MAX_RECORD_BYTES);
		rec = aim_bad_line_record(line, "audit", "invalid_record", buf);
		aim_redact_secrets(rec);
		warnx("%s:%ld: %s", source, line->lineno, buf);
	} else {
		rec = aim_parse_record(line, "audit", "a record",
		    "invalid_record", &is_error);
		/* Secrets go before anything is printed or written. */
		aim_redact_secrets(rec);
		if (is_error)
			warnx("%s:%ld: %s", source, line->lineno,
			    json_string_value(json_object_get(json_object_get(
			    rec, "error"), "message")));
	}

	aim_utc_stamp(iso, stamp, day);
	entry = aim_audit_entry(rec, iso, au->cfg.actor);
	if (au->dir == NULL) {
		why = aim_xstrdup("no audit directory: set AIM_AUDIT_DIR or "
		    "use -d");
		path = NULL;
	} else
		path = aim_audit_write(au->dir, entry, stamp, day, &why);
	json_decref(entry);
	if (path != NULL) {
		json_object_set_new(rec, "audit", json_pack("{s:s}", "path",
		    path));
		free(path);
	} else {
		warnx("%s:%ld: %s", source, line->lineno, why);
		json_object_set_new(rec, "audit", json_pack("{s:s}", "error",
		    why));
		free(why);
		aim_exit_raise(&au->status, AIM_EXIT_IO);
	}
	result = json_object_get(rec, "result");
	if (json_object_get(rec, "error") != NULL ||
	    (result != NULL && !json_is_true(json_object_get(result,
	    "success"))))
		aim_exit_raise(&au->status, AIM_EXIT_FAILED);
	if (aim_emit(stdout, rec) == -1)
		aim_exit_raise(&au->status, AIM_EXIT_IO);
	json_decref(rec);
}

static void
audit_file(struct audit *au, const char *path)
{
	struct aim_lines r;
	struct aim_line line;
	const char *source = aim_input_name(path);
	int fd, rc;

	if ((fd = aim_open_input(path)) == -1) {
		warn("can't open %s", path);
		aim_exit_raise(&au->status, AIM_EXIT_IO);
		return;
	}
	aim_lines_init(&r, fd, MAX_RECORD_BYTES);
	while ((rc = aim_lines_next(&r, &line)) == 1) {
		if (aim_line_blank(&line))
			continue;
		audit_line(au, &line, source);
		if (ferror(stdout))
			break;
	}
	if (rc == -1) {
		warnx("%s: read error: %s", source, strerror(r.err));
		aim_exit_raise(&au->status, AIM_EXIT_IO);
	}
	aim_lines_free(&r);
	if (fd != STDIN_FILENO)
		close(fd);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "registry", required_argument, NULL, 'r' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct aim_problems probs = { NULL, 0, 0 };
	struct aim_options opt = { NULL, NULL };
	const char *opt_dir = NULL;
	struct audit au;
	char *regdir, *why = NULL;
	int ch, i;

	memset(&au, 0, sizeof(au));
	argv[0] = (char *)progname;	/* getopt's messages name us alike */
	while ((ch = getopt_long(argc, argv, "c:d:hr:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opt.config = optarg;
			break;
		case 'd':
			opt_dir = optarg;
			break;
		case 'h':
			usage(0);
		case 'r':
			opt.registry = optarg;
			break;
		case 'V':
			printf("%s %s\n", progname, AIM_VERSION);
			return 0;
		default:
			usage(AIM_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	regdir = aim_registry_find(&opt, &why);
	if (regdir == NULL && opt.registry != NULL) {
		warnx("%s", why);
		aim_exit_raise(&au.status, AIM_EXIT_CONFIG);
	}
	free(why);
	if (aim_config_load(&au.cfg, &opt, regdir, &probs) == -1) {
		/* Keep logging with defaults: losing the trail is worse. */
		aim_problems_print(&probs);
		aim_exit_raise(&au.status, AIM_EXIT_CONFIG);
	}
	aim_problems_free(&probs);
	au.dir = audit_dir(opt_dir, regdir, &au.cfg);
	if (redact_vault() == -1)
		aim_exit_raise(&au.status, AIM_EXIT_CONFIG);
	free(regdir);

	if (argc == 0)
		audit_file(&au, "-");
	for (i = 0; i < argc; i++)
		audit_file(&au, argv[i]);

	if (aim_close_stdout() == -1)
		aim_exit_raise(&au.status, AIM_EXIT_IO);
	free(au.dir);
	aim_config_free(&au.cfg);
	return au.status;
}
