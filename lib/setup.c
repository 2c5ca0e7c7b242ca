/*
 * setup.c: what a command does once, at the top, with the registry, the
 * config and the audit trail together; above every other module.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aim-setup.h"

int
aim_audit_event_here(const struct aim_options *opt, const char *kind,
    json_t *details, char **why)
{
	struct aim_problems probs = { NULL, 0, 0 };
	struct aim_config cfg;
	char *regdir, *dir, *e = NULL, buf[PATH_MAX + 512];
	int rc = 1;

	*why = NULL;
	regdir = aim_registry_find(opt, &e);
	free(e);
	e = NULL;
	aim_config_load(&cfg, opt, regdir, &probs);
	aim_problems_free(&probs);
	if ((dir = aim_audit_dir_find(NULL, regdir, &cfg, 0)) != NULL) {
		rc = 0;
		if (aim_audit_event(dir, kind, details, &e) == -1) {
			snprintf(buf, sizeof(buf), "%s: %s", dir, e ? e :
			    strerror(errno));
			*why = aim_xstrdup(buf);
			rc = -1;
		}
		free(e);
	}
	free(dir);
	free(regdir);
	aim_config_free(&cfg);
	return rc;
}
