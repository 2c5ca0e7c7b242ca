/*
 * setup.c: what a command does once, at the top, with the registry, the
 * config and the audit trail together; above every other module.
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aim-setup.h"

void
aim_setup_load(struct aim_setup *s, const struct aim_options *opt,
    const char *opt_dir, int flags)
{
	memset(s, 0, sizeof(*s));
	s->opt = *opt;
	s->registry_dir = aim_registry_find(opt, &s->not_found);
	if (s->registry_dir == NULL && opt->registry != NULL &&
	    (flags & AIM_SETUP_WARN)) {
		warnx("%s", s->not_found);
		aim_exit_raise(&s->status, AIM_EXIT_CONFIG);
	}
	s->config_ok = aim_config_load(&s->cfg, opt, s->registry_dir,
	    &s->probs) == 0;
	s->nconfig = s->nload = s->probs.n;
	if (!s->config_ok && (flags & AIM_SETUP_WARN)) {
		aim_problems_print(&s->probs);
		aim_exit_raise(&s->status, AIM_EXIT_CONFIG);
	}
	if ((flags & AIM_SETUP_REGISTRY) && s->registry_dir != NULL &&
	    (s->config_ok || !(flags & AIM_SETUP_NEED_CONFIG))) {
		s->registry_ok = aim_registry_load(&s->reg, s->registry_dir,
		    &s->probs) == 0;
		s->nload = s->probs.n;
		if (s->registry_ok && (flags & AIM_SETUP_CHECK))
			aim_registry_check(&s->reg, &s->probs);
	}
	if (flags & AIM_SETUP_AUDIT_DIR)
		s->audit_dir = aim_audit_dir_find(opt_dir, s->registry_dir,
		    &s->cfg, (flags & AIM_SETUP_FALLBACK) != 0);
}

void
aim_setup_free(struct aim_setup *s)
{
	if (s->chain_open)
		aim_chain_close(&s->chain);
	aim_registry_free(&s->reg);
	aim_config_free(&s->cfg);
	aim_problems_free(&s->probs);
	free(s->registry_dir);
	free(s->not_found);
	free(s->audit_dir);
	memset(s, 0, sizeof(*s));
}

struct aim_chain *
aim_setup_chain(struct aim_setup *s, char **why)
{
	if (s->audit_dir == NULL) {
		*why = aim_xstrdup("no audit directory: set AIM_AUDIT_DIR or "
		    "use -d");
		return NULL;
	}
	if (!s->chain_open && aim_chain_open(&s->chain, s->audit_dir,
	    why) == 0)
		s->chain_open = 1;
	return s->chain_open ? &s->chain : NULL;
}

int
aim_audit_event_here(const struct aim_options *opt, const char *kind,
    json_t *details, char **why)
{
	struct aim_setup s;
	char *e = NULL;
	int rc = 1;

	*why = NULL;
	aim_setup_load(&s, opt, NULL, AIM_SETUP_AUDIT_DIR);
	if (s.audit_dir != NULL) {
		rc = 0;
		if (aim_audit_event(s.audit_dir, kind, details, &e) == -1) {
			*why = aim_xsprintf("%s: %s", s.audit_dir,
			    e ? e : strerror(errno));
			rc = -1;
		}
		free(e);
	}
	aim_setup_free(&s);
	return rc;
}
