/*
 * trail.c: reading the audit trail's entries (aim-audit(1) "Entries"):
 * what an entry is and how it ended, and the trail as Prometheus metrics
 * (aim-audit(1) "metrics").
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aim-flow.h"

const char *
aim_entry_kind(json_t *e)
{
	const char *k = json_string_value(json_object_get(e, "kind"));

	return k ? k : "invocation";
}

const char *
aim_entry_outcome(json_t *e)
{
	json_t *r = json_object_get(e, "result");

	if (json_object_get(e, "kind") != NULL)
		return json_is_string(json_object_get(e, "kind")) &&
		    strcmp(aim_entry_kind(e), "error") == 0 ? "error" : "none";
	if (json_object_get(e, "error") != NULL)
		return "error";
	if (!json_is_object(r))
		return "none";
	return json_is_true(json_object_get(r, "success")) ? "success" :
	    "failure";
}

/* ---- metrics ---- */

/* An entry's timestamp (2026-11-18T11:06:40.123456Z) in Unix seconds, or -1. */
static double
entry_time_s(const char *ts)
{
	struct tm tm;
	const char *rest;
	double frac = 0;

	memset(&tm, 0, sizeof(tm));
	if ((rest = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*rest == '.')
		frac = strtod(rest, NULL);
	return (double)timegm(&tm) + frac;
}

/* Upper bounds of the attempt duration histogram, in seconds. */
static const double buckets_s[] = { 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    120, 300, 600 };
#define NBUCKETS	(sizeof(buckets_s) / sizeof(buckets_s[0]))

/*
 * The series of one metric family: a JSON object from the label set, as
 * text ("tool=\"a\",outcome=\"b\""), to its value (a real), so that
 * families print sorted and each label set once.
 */
static void
add(json_t *family, const char *labels, double v)
{
	json_t *old = json_object_get(family, labels);

	json_object_set_new(family, labels, json_real(
	    (old ? json_real_value(old) : 0) + v));
}

/* A label value in the text format: \ " and newline escaped. */
static void
label(FILE *f, const char *name, const char *value, int first)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	for (; *value != '\0'; value++) {
		if (*value == '\\' || *value == '"')
			fprintf(f, "\\%c", *value);
		else if (*value == '\n')
			fputs("\\n", f);
		else
			fputc(*value, f);
	}
	fputc('"', f);
}

/*
 * The label text of up to three name/value pairs (NULL name: no more); a
 * pair whose value is NULL is left out (an attempt without a class).
 */
static char *
labels(const char *n1, const char *v1, const char *n2, const char *v2,
    const char *n3, const char *v3)
{
	const char *name[3] = { n1, n2, n3 }, *value[3] = { v1, v2, v3 };
	char *buf = NULL;
	size_t len = 0, i;
	int first = 1;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		err(AIM_EXIT_IO, "out of memory");
	for (i = 0; i < 3 && name[i] != NULL; i++) {
		if (value[i] == NULL)
			continue;
		label(f, name[i], value[i], first);
		first = 0;
	}
	if (fclose(f) != 0)
		err(AIM_EXIT_IO, "out of memory");
	return buf;
}

/* The keys of obj, sorted (borrowed strings in a malloc'd array). */
static const char **
sorted_keys(json_t *obj, size_t *n)
{
	const char **k = aim_xmalloc((json_object_size(obj) + 1) *
	    sizeof(*k));
	const char *key;
	json_t *v;

	*n = 0;
	json_object_foreach(obj, key, v)
		k[(*n)++] = key;
	qsort(k, *n, sizeof(*k), aim_strcmp_p);
	return k;
}

/* HELP, TYPE and the sorted series of one family. */
static void
family(FILE *f, const char *name, const char *type, const char *help,
    json_t *series)
{
	const char **k;
	size_t i, n;

	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	k = sorted_keys(series, &n);
	for (i = 0; i < n; i++)
		fprintf(f, "%s%s%s%s %.17g\n", name, *k[i] ? "{" : "", k[i],
		    *k[i] ? "}" : "", json_real_value(json_object_get(series,
		    k[i])));
	free(k);
}

struct metrics {
	json_t	*requests, *fallbacks, *attempts, *tokens, *spend, *events;
	json_t	*hist;		/* tool -> [count per bucket..., sum_s, n] */
};

static void
series(json_t *fam, char *lbl, double v)
{
	add(fam, lbl, v);
	free(lbl);
}

static void
observe(struct metrics *m, const char *tool, double s)
{
	json_t *h = json_object_get(m->hist, tool);
	size_t i;

	if (h == NULL) {
		h = json_array();
		for (i = 0; i < NBUCKETS + 2; i++)
			json_array_append_new(h, json_real(0));
		json_object_set_new(m->hist, tool, h);
	}
	for (i = 0; i < NBUCKETS; i++)
		if (s <= buckets_s[i])
			json_real_set(json_array_get(h, i), json_real_value(
			    json_array_get(h, i)) + 1);
	json_real_set(json_array_get(h, NBUCKETS), json_real_value(
	    json_array_get(h, NBUCKETS)) + s);
	json_real_set(json_array_get(h, NBUCKETS + 1), json_real_value(
	    json_array_get(h, NBUCKETS + 1)) + 1);
}

/* Add v to the number member key of obj. */
static void
add_member(json_t *obj, const char *key, double v)
{
	json_t *x = json_object_get(obj, key);

	json_object_set_new(obj, key, json_real((json_is_number(x) ?
	    json_number_value(x) : 0) + v));
}

/* Borrowed: out's object for tool, made when missing. */
static json_t *
spend_tool(json_t *out, const char *tool)
{
	json_t *t = json_object_get(out, tool);

	if (t == NULL)
		json_object_set_new(out, tool, t = json_object());
	return t;
}

json_t *
aim_entry_spend(json_t *e)
{
	static const char *const tok[] = { "input_tokens", "output_tokens",
	    NULL };
	const char *tool = json_string_value(json_object_get(e, "tool_id"));
	json_t *out = json_object(), *a, *v, *content;
	size_t i;
	int priced = 0;

	json_array_foreach(json_object_get(e, "attempts"), i, a) {
		const char *t = json_string_value(json_object_get(a,
		    "tool_id"));

		if (t != NULL && json_is_number(v = json_object_get(a,
		    "cost_usd"))) {
			add_member(spend_tool(out, t), "cost_usd",
			    json_number_value(v));
			priced = 1;
		}
	}
	if (strcmp(aim_entry_outcome(e), "success") != 0 || tool == NULL)
		return out;
	content = json_object_get(json_object_get(e, "result"), "content");
	for (i = 0; tok[i] != NULL; i++)
		if (json_is_number(v = json_object_get(json_object_get(content,
		    "usage"), tok[i])))
			add_member(spend_tool(out, tool), tok[i],
			    json_number_value(v));
	if (!priced && json_is_number(v = json_object_get(content,
	    "cost_usd")))
		add_member(spend_tool(out, tool), "cost_usd",
		    json_number_value(v));
	return out;
}

/* What one entry of a record adds. */
static void
count_record(struct metrics *m, json_t *e)
{
	const char *cap = json_string_value(json_object_get(e, "capability"));
	const char *tool = json_string_value(json_object_get(e, "tool_id"));
	const char *outcome = aim_entry_outcome(e), *o, *t;
	json_t *a, *d, *spend, *x, *v;
	size_t i, tried = 0;

	series(m->requests, labels("capability", cap, "outcome", outcome,
	    NULL, NULL), 1);
	json_array_foreach(json_object_get(e, "attempts"), i, a) {
		t = json_string_value(json_object_get(a, "tool_id"));
		if (t == NULL || (o = json_string_value(json_object_get(a,
		    "outcome"))) == NULL)
			continue;
		series(m->attempts, labels("tool", t, "outcome", o,
		    "error_class", json_string_value(json_object_get(a,
		    strcmp(o, "skipped") == 0 ? "reason" : "error_class"))), 1);
		if (strcmp(o, "skipped") == 0)
			continue;
		tried++;
		d = json_object_get(a, "duration_ms");
		if (json_is_integer(d) && json_integer_value(d) >= 0)
			observe(m, t, (double)json_integer_value(d) / 1000);
	}
	if (strcmp(outcome, "success") == 0 && tool != NULL && tried > 1)
		series(m->fallbacks, labels("capability", cap, NULL, NULL,
		    NULL, NULL), 1);
	spend = aim_entry_spend(e);
	json_object_foreach(spend, t, x) {
		if (json_is_number(v = json_object_get(x, "input_tokens")))
			series(m->tokens, labels("tool", t, "type", "input",
			    NULL, NULL), json_number_value(v));
		if (json_is_number(v = json_object_get(x, "output_tokens")))
			series(m->tokens, labels("tool", t, "type", "output",
			    NULL, NULL), json_number_value(v));
		if (json_is_number(v = json_object_get(x, "cost_usd")))
			series(m->spend, labels("tool", t, NULL, NULL, NULL,
			    NULL), json_number_value(v));
	}
	json_decref(spend);
}

static void
print_histogram(FILE *f, json_t *hist)
{
	const char **k;
	json_t *h;
	size_t i, j, n;
	char *lbl;

	fputs("# HELP aim_attempt_duration_seconds How long attempts took, "
	    "skipped ones left out.\n"
	    "# TYPE aim_attempt_duration_seconds histogram\n", f);
	k = sorted_keys(hist, &n);
	for (i = 0; i < n; i++) {
		h = json_object_get(hist, k[i]);
		lbl = labels("tool", k[i], NULL, NULL, NULL, NULL);
		for (j = 0; j < NBUCKETS; j++)
			fprintf(f, "aim_attempt_duration_seconds_bucket{%s,"
			    "le=\"%g\"} %.17g\n", lbl, buckets_s[j],
			    json_real_value(json_array_get(h, j)));
		fprintf(f, "aim_attempt_duration_seconds_bucket{%s,le=\"+Inf\"}"
		    " %.17g\n", lbl, json_real_value(json_array_get(h,
		    NBUCKETS + 1)));
		fprintf(f, "aim_attempt_duration_seconds_sum{%s} %.17g\n", lbl,
		    json_real_value(json_array_get(h, NBUCKETS)));
		fprintf(f, "aim_attempt_duration_seconds_count{%s} %.17g\n",
		    lbl, json_real_value(json_array_get(h, NBUCKETS + 1)));
		free(lbl);
	}
	free(k);
}

/*
 * The gauges of the shared state of registry_dir, when there is one and
 * it can be read: cooldowns open now, and what each tool with a budget
 * may still spend today.
 */
static void
state_families(FILE *f, const char *registry_dir,
    const struct aim_config *cfg)
{
	struct aim_state st;
	json_t *cooling, *left = json_object(), *v, *list;
	const char *tool;
	char *why = NULL;
	double spent, limit;
	int64_t now = aim_wall_ms();

	if (registry_dir == NULL || aim_state_open(&st, cfg, &why) == -1 ||
	    aim_state_refresh(&st, &why) == -1) {
		free(why);
		if (registry_dir != NULL)
			aim_state_free(&st);
		json_decref(left);
		return;
	}
	free(why);
	list = aim_state_cooldowns(&st, registry_dir, now);
	cooling = json_object();
	add(cooling, "", (double)json_array_size(list));
	json_decref(list);
	json_object_foreach(cfg->budgets, tool, v) {
		(void)aim_state_budget_exhausted(&st, registry_dir, cfg->budgets,
		    tool, now, &spent, &limit);
		series(left, labels("tool", tool, NULL, NULL, NULL, NULL),
		    spent < limit ? limit - spent : 0);
	}
	family(f, "aim_cooldowns_open", "gauge", "Tools of the registry "
	    "cooling down now.", cooling);
	family(f, "aim_budget_remaining_usd", "gauge", "What each tool with "
	    "a budget may still spend this UTC day, in US dollars.", left);
	json_decref(cooling);
	json_decref(left);
	aim_state_free(&st);
}

char *
aim_metrics_text(const struct aim_scan *s, const char *registry_dir,
    const struct aim_config *cfg, size_t *len)
{
	struct metrics m;
	json_t *trail = json_object(), *newest = json_object(), *e;
	const char *ts, *last = NULL;
	char *buf = NULL;
	size_t i, size = 0, broken = 0;
	FILE *f;

	m.requests = json_object();
	m.fallbacks = json_object();
	m.attempts = json_object();
	m.tokens = json_object();
	m.spend = json_object();
	m.events = json_object();
	m.hist = json_object();
	for (i = 0; i < s->n; i++) {
		size += s->v[i].size_bytes;
		if ((e = s->v[i].json) == NULL) {
			broken++;
			continue;
		}
		ts = json_string_value(json_object_get(e, "timestamp"));
		if (ts != NULL && (last == NULL || strcmp(ts, last) > 0))
			last = ts;
		if (json_object_get(e, "kind") != NULL)
			series(m.events, labels("kind", aim_entry_kind(e), NULL,
			    NULL, NULL, NULL), 1);
		else
			count_record(&m, e);
	}
	add(trail, "", (double)s->n);
	if (last != NULL && entry_time_s(last) >= 0)
		add(newest, "", entry_time_s(last));
	if ((f = open_memstream(&buf, len)) == NULL)
		err(AIM_EXIT_IO, "out of memory");
	family(f, "aim_audit_entries", "gauge", "Entries in the audit trail.",
	    trail);
	json_object_clear(trail);
	add(trail, "", (double)size);
	family(f, "aim_audit_size_bytes", "gauge", "Bytes of the audit "
	    "trail's entry files.", trail);
	json_object_clear(trail);
	add(trail, "", (double)broken);
	family(f, "aim_audit_unreadable_entries", "gauge", "Entry files that "
	    "do not parse.", trail);
	family(f, "aim_audit_newest_timestamp_seconds", "gauge", "When the "
	    "newest entry was written (Unix time).", newest);
	family(f, "aim_requests_total", "counter", "Records audited, by "
	    "capability and outcome.", m.requests);
	family(f, "aim_fallbacks_total", "counter", "Records served after "
	    "a failed attempt, by capability.", m.fallbacks);
	family(f, "aim_attempts_total", "counter", "Attempts, by tool, "
	    "outcome and error class (a skipped one's reason).", m.attempts);
	print_histogram(f, m.hist);
	family(f, "aim_tokens_total", "counter", "Tokens the serving tool "
	    "reported, by tool and type.", m.tokens);
	family(f, "aim_spend_usd_total", "counter", "What attempts cost, "
	    "in US dollars.", m.spend);
	family(f, "aim_events_total", "counter", "Management events, by "
	    "kind.", m.events);
	state_families(f, registry_dir, cfg);
	if (fclose(f) != 0)
		err(AIM_EXIT_IO, "out of memory");
	json_decref(trail);
	json_decref(newest);
	json_decref(m.requests);
	json_decref(m.fallbacks);
	json_decref(m.attempts);
	json_decref(m.tokens);
	json_decref(m.spend);
	json_decref(m.events);
	json_decref(m.hist);
	return buf;
}
