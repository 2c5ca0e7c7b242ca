/* auditdir.c: the audit directory aim-audit writes to by default. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "aim.h"

char *
aim_audit_dir_default(const char *registry_dir, const struct aim_config *cfg)
{
	char buf[PATH_MAX];
	const char *env;

	if ((env = getenv("AIM_AUDIT_DIR")) != NULL && *env != '\0')
		return aim_abspath(env, NULL);
	if (cfg != NULL && cfg->audit_dir != NULL)
		return aim_xstrdup(cfg->audit_dir);
	if (registry_dir != NULL) {
		snprintf(buf, sizeof(buf), "%s/AIM_audit", registry_dir);
		return aim_xstrdup(buf);
	}
	return aim_xdg_path("XDG_STATE_HOME", ".local/state", "AIM_audit");
}
