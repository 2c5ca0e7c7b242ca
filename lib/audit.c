/*
 * audit.c: audit entries in the layout of aim-audit(1) "Entries", redacted;
 * chain.c writes them.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "aim-store.h"

/* ---- entries ---- */

/* The steps of a workflow's record, for its entry: without route, attempts. */
static json_t *
steps_entry(json_t *steps)
{
	json_t *out = json_array(), *st, *o;
	size_t i;

	json_array_foreach(steps, i, st) {
		o = json_deep_copy(st);
		json_object_del(o, "route");
		json_object_del(o, "attempts");
		json_array_append_new(out, o);
	}
	return out;
}

json_t *
aim_audit_entry(json_t *rec, const char *iso, const char *default_actor)
{
	json_t *e, *v, *err, *route;

	e = json_object();
	json_object_set_new(e, "timestamp", json_string(iso));
	v = json_object_get(rec, "actor");
	json_object_set_new(e, "actor", json_is_string(v) ? json_copy(v) :
	    json_string(default_actor));
	/* An error record was served by nobody, whatever tool it named. */
	v = json_object_get(rec, "tool_id");
	json_object_set_new(e, "tool_id", json_is_string(v) &&
	    json_object_get(rec, "error") == NULL ? json_copy(v) :
	    json_string("none"));
	v = json_object_get(rec, "capability");
	route = json_object_get(rec, "route");
	if (!json_is_string(v))
		v = json_object_get(route, "capability");
	json_object_set_new(e, "capability", json_is_string(v) ?
	    json_copy(v) : json_null());
	v = json_object_get(rec, "payload");
	json_object_set_new(e, "payload", v ? json_deep_copy(v) : json_null());
	err = json_object_get(rec, "error");
	if ((v = json_object_get(rec, "result")) != NULL)
		json_object_set_new(e, "result", json_deep_copy(v));
	else if (err != NULL)
		json_object_set_new(e, "result", json_pack("{s:b, s:O?, s:n}",
		    "success", 0, "message", json_object_get(err, "message"),
		    "content"));
	else
		json_object_set_new(e, "result", json_null());
	json_object_set(e, "id", (v = json_object_get(rec, "id")) ? v :
	    json_null());
	v = json_object_get(rec, "attempts");
	json_object_set_new(e, "attempts", v ? json_deep_copy(v) :
	    json_array());
	json_object_set_new(e, "contract", json_string(AIM_CONTRACT));
	if (err != NULL)
		json_object_set_new(e, "error", json_deep_copy(err));
	/* What a fan-out ran and chose, what an apply did (aim-fanout(1)). */
	if ((v = json_object_get(rec, "fanout")) != NULL)
		json_object_set_new(e, "fanout", json_deep_copy(v));
	if ((v = json_object_get(rec, "apply")) != NULL)
		json_object_set_new(e, "apply", json_deep_copy(v));
	/* One entry per workflow: its steps' attempts are the entry's. */
	if ((v = json_object_get(rec, "steps")) != NULL)
		json_object_set_new(e, "steps", steps_entry(v));
	aim_redact(e);
	return e;
}

/* ---- names ---- */

void
aim_audit_name_part(char *out, const char *s)
{
	size_t i;

	if (s == NULL || *s == '\0')
		s = "none";
	for (i = 0; s[i] != '\0' && i < AIM_NAME_PART_MAX; i++)
		out[i] = isalnum((unsigned char)s[i]) || s[i] == '-' ||
		    (s[i] == '.' && i > 0) || s[i] == '_' ? s[i] : '-';
	out[i] = '\0';
}
