/* aim-resolve: requests in, routed records out; no tool is run. */
#include <err.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aim.h"


static const char *progname = "aim-resolve";

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: %s [-H] [--check] [-c config] [-r registry] [file ...]\n"
	    "       %s --reset-cooldown tool ...\n",
	    progname, progname);
	if (status == 0)
		printf("  -c, --config FILE     the aim_config.json to read\n"
		    "  -r, --registry DIR    the registry directory to use\n"
		    "      --check           check the registry, rules and "
		    "config; route nothing\n"
		    "      --reset-cooldown  end the named tools' cooldowns "
		    "(of the registry in use)\n"
		    "  -H, --human           each record in words on stderr "
		    "too\n"
		    "  -h, --help            print this help and exit\n"
		    "  -V, --version         print the version and exit\n"
		    "See aim-resolve(1).\n");
	exit(status);
}

struct resolve {
	struct aim_options opt;
	struct aim_setup set;	/* config and registry */
	struct aim_router router;
	char	*unavailable;	/* why routing is off, or NULL */
	size_t	 payload_limit;
	int	 human;		/* -H: words on stderr */
	int	 status;
};

/* Write rec, in words on stderr too with -H; an output error is exit 4. */
static void
emit(struct resolve *rs, json_t *rec)
{
	if (rs->human)
		aim_show_record(stderr, rec, aim_show_color(STDERR_FILENO));
	if (aim_emit(stdout, rec) == -1)
		aim_exit_raise(&rs->status, AIM_EXIT_IO);
}

/*
 * The longest request line read whole: room for a payload at the limit even
 * if every byte of it needs escaping, plus the other fields.
 */
static size_t
line_cap(const struct resolve *rs)
{
	return rs->payload_limit * 4 + 65536;
}

/* Report an error record on stderr, write it, remember the failure; steals rec. */
static void
emit_error(struct resolve *rs, json_t *rec, const char *source)
{
	json_t *e = json_object_get(rec, "error");

	/* The registry warning was given once at start; don't repeat it. */
	if (strcmp(json_string_value(json_object_get(e, "code")),
	    "registry_unavailable") != 0)
		warnx("%s:%lld: %s", source,
		    (long long)json_integer_value(json_object_get(e, "line")),
		    json_string_value(json_object_get(e, "message")));
	emit(rs, rec);
	aim_exit_raise(&rs->status, AIM_EXIT_FAILED);
	json_decref(rec);
}

/*
 * A request line jansson refused that has a trailing comma or a comment
 * before the error: say that (at its column) in the error record rec.
 */
static void
name_extension(json_t *rec, const struct aim_line *line)
{
	json_t *e = json_object_get(rec, "error");
	json_error_t je;
	const char *what;
	char msg[256];
	int ln, col;
	json_t *v;

	if (strcmp(json_string_value(json_object_get(e, "code")),
	    "invalid_json") != 0)
		return;
	if ((v = json_loadb(line->text, line->len, 0, &je)) != NULL) {
		json_decref(v);
		return;
	}
	if ((what = aim_json_extension(line->text, line->len, je.position,
	    &ln, &col)) == NULL)
		return;
	snprintf(msg, sizeof(msg), "invalid JSON at column %d: %s", col, what);
	json_object_set_new(e, "message", json_string(msg));
}

static void
resolve_line(struct resolve *rs, const struct aim_line *line,
    const char *source)
{
	json_t *req, *rec, *details;
	const char *why, *code;
	char buf[256], id[37], *msg;
	int is_error;

	if (line->too_long) {
		snprintf(buf, sizeof(buf), "request is longer than %zu bytes; "
		    "payload limit is %zu bytes", line_cap(rs),
		    rs->payload_limit);
		emit_error(rs, aim_bad_line_record(line, "resolve",
		    "payload_too_large", buf), source);
		return;
	}
	req = aim_parse_record(line, "resolve", "a request", "invalid_request",
	    &is_error);
	if (is_error) {
		name_extension(req, line);
		emit_error(rs, req, source);
		return;
	}
	/* Error records and routed records flow on untouched. */
	if (json_object_get(req, "error") != NULL ||
	    json_object_get(req, "route") != NULL) {
		if (json_object_get(req, "error") != NULL)
			aim_exit_raise(&rs->status, AIM_EXIT_FAILED);
		emit(rs, req);
		json_decref(req);
		return;
	}
	if ((why = aim_request_invalid(req, rs->payload_limit, buf,
	    sizeof(buf))) != NULL) {
		emit_error(rs, aim_error_record(req, "resolve",
		    strncmp(why, "payload is", 10) == 0 ? "payload_too_large" :
		    "invalid_request", line->lineno, "%s", why), source);
		return;
	}
	if (json_object_get(req, "id") == NULL) {
		/* Put the new id first, where a reader looks for it. */
		rec = json_object();
		aim_uuid7(id);
		json_object_set_new(rec, "id", json_string(id));
		json_object_update(rec, req);
		json_decref(req);
		req = rec;
	}
	if (json_object_get(req, "actor") == NULL)
		json_object_set_new(req, "actor", json_string(rs->set.cfg.actor));
	if (rs->unavailable != NULL) {
		emit_error(rs, aim_error_record(req, "resolve",
		    "registry_unavailable", line->lineno, "%s",
		    rs->unavailable), source);
		return;
	}
	if (aim_route(&rs->router, req, &code, &msg, &details) == -1) {
		aim_error_record(req, "resolve", code, line->lineno, "%s", msg);
		if (details != NULL)
			json_object_update(json_object_get(req, "error"),
			    details);
		json_decref(details);
		emit_error(rs, req, source);
		free(msg);
		return;
	}
	emit(rs, req);
	json_decref(req);
}

/* aim_each_line's callback: one request; once stdout fails, read no more. */
static int
resolve_one(void *rs, const struct aim_line *line, const char *source)
{
	resolve_line(rs, line, source);
	return ferror(stdout);
}

/* Join problems into one line for the registry_unavailable records. */
static char *
problems_line(const struct aim_problems *p)
{
	const struct aim_problem *pr = &p->v[0];
	size_t n = strlen(pr->file) + strlen(pr->message) + 80;
	char *s = aim_xmalloc(n);

	if (pr->line > 0)
		snprintf(s, n, "registry unavailable: %s:%d:%d: %s", pr->file,
		    pr->line, pr->column, pr->message);
	else
		snprintf(s, n, "registry unavailable: %s: %s", pr->file,
		    pr->message);
	return s;
}

/* --check: every problem of the registry, rules and config (s). */
static int
check(struct aim_setup *s)
{
	if (s->registry_dir == NULL) {
		warnx("%s", s->not_found);
		return AIM_EXIT_FAILED;
	}
	if (!s->registry_ok)
		aim_problems_append(&s->probs, &s->reg.unknown);
	aim_problems_print(&s->probs);
	return s->probs.n > 0 ? AIM_EXIT_FAILED : AIM_EXIT_OK;
}

/*
 * The filter's set-up: a config or registry that fails makes routing
 * unavailable (every request answered registry_unavailable) rather than
 * stopping the stream.
 */
static void
routing_setup(struct resolve *rs)
{
	struct aim_setup *s = &rs->set;

	if (!s->config_ok)
		rs->unavailable = problems_line(&s->probs);
	if (s->registry_dir == NULL) {
		warnx("%s", s->not_found);
		free(rs->unavailable);
		rs->unavailable = aim_xstrdup(s->not_found);
	} else if (rs->unavailable == NULL && !s->registry_ok)
		rs->unavailable = problems_line(&s->probs);
	if (s->probs.n > 0)
		aim_problems_print(&s->probs);
	/* Misspelt members: said once, the requests still route. */
	aim_problems_print(&s->reg.unknown);
	if (rs->unavailable != NULL)
		aim_exit_raise(&rs->status, AIM_EXIT_CONFIG);

	rs->payload_limit = aim_payload_limit(s->reg.security, &s->cfg);
	aim_router_init(&rs->router, &s->reg, &s->cfg);
}

/*
 * --reset-cooldown: close the named tools' circuits in the state file,
 * those of the registry in use (dir) only.
 */
static int
reset_cooldowns(const char *dir, const struct aim_config *cfg, char **tools,
    int n)
{
	struct aim_state st;
	char *why = NULL;
	int i, status = AIM_EXIT_OK;

	if (aim_state_open(&st, cfg, &why) == -1 ||
	    aim_state_lock(&st, &why) == -1) {
		warnx("%s", why);
		free(why);
		aim_state_free(&st);
		return AIM_EXIT_IO;
	}
	if (why != NULL)
		warnx("%s", why);
	free(why);
	for (i = 0; i < n; i++)
		if (!aim_state_reset(&st, dir, tools[i], aim_wall_ms())) {
			warnx("%s: not cooling down", tools[i]);
			aim_exit_raise(&status, AIM_EXIT_FAILED);
		}
	if (aim_state_unlock(&st, 1, &why) == -1) {
		warnx("%s", why);
		free(why);
		aim_exit_raise(&status, AIM_EXIT_IO);
	}
	aim_state_free(&st);
	return status;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, 'C' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "human", no_argument, NULL, 'H' },
		{ "registry", required_argument, NULL, 'r' },
		{ "reset-cooldown", no_argument, NULL, 'R' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct resolve rs;
	int ch, checkmode = 0, resetmode = 0;

	aim_std_fds();
	memset(&rs, 0, sizeof(rs));
	argv[0] = (char *)progname;	/* getopt's messages name us alike */
	while ((ch = getopt_long(argc, argv, "c:Hhr:V", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			checkmode = 1;
			break;
		case 'c':
			rs.opt.config = optarg;
			break;
		case 'H':
			rs.human = 1;
			break;
		case 'h':
			usage(0);
		case 'R':
			resetmode = 1;
			break;
		case 'r':
			rs.opt.registry = optarg;
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
	if (resetmode ? argc == 0 || checkmode : checkmode && argc > 0)
		usage(AIM_EXIT_USAGE);

	aim_setup_load(&rs.set, &rs.opt, NULL, resetmode ? 0 : checkmode ?
	    AIM_SETUP_REGISTRY | AIM_SETUP_CHECK :
	    AIM_SETUP_REGISTRY | AIM_SETUP_NEED_CONFIG);
	if (resetmode || checkmode) {
		if (checkmode)
			ch = check(&rs.set);
		else if (rs.set.registry_dir == NULL) {
			warnx("%s", rs.set.not_found);
			ch = AIM_EXIT_CONFIG;
		} else
			ch = reset_cooldowns(rs.set.registry_dir, &rs.set.cfg,
			    argv, argc);
		aim_setup_free(&rs.set);
		return ch;
	}
	if (aim_std_fds() == -1) {
		aim_setup_free(&rs.set);
		errx(AIM_EXIT_IO, "standard output is closed");
	}
	routing_setup(&rs);

	if (aim_each_line(argv, argc, line_cap(&rs), resolve_one, &rs) == -1)
		aim_exit_raise(&rs.status, AIM_EXIT_IO);

	if (aim_close_stdout() == -1)
		aim_exit_raise(&rs.status, AIM_EXIT_IO);
	aim_router_free(&rs.router);
	aim_setup_free(&rs.set);
	free(rs.unavailable);
	return rs.status;
}
