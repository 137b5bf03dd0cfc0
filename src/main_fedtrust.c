/*
 * fedtrust: the one command for operators and consumers, with sub-commands
 * (config-and-cli.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "extern.h"

static const struct {
	const char	*name;
	int		(*fn)(int, char *[]);
	const char	*help;
} cmds[] = {
	{ "verify", cmd_verify, "verify one document against anchors, as the daemon would" },
	{ "build", cmd_build, "one full cycle: fetch, verify, apply policy, sign, publish" },
	{ "keygen", cmd_keygen, "make an operator signing key and print its public JWK" },
	{ "bundle", cmd_bundle, "verify (bundle verify) or dump (bundle show) a trust bundle" },
	{ "lookup", cmd_lookup, "verify a bundle and look up a caller by id or certificate" },
	{ "pull", cmd_pull, "consumer agent: poll, verify, write derived outputs" },
	{ "refresh", cmd_refresh, "ask the running fedtrustd to fetch now (all, a list or a source)" },
	{ "source", cmd_source, "admin: add, test, list, show, remove or revoke a partner source" },
	{ "diff", cmd_diff, "what changed in a trust list between two publications, in words" },
};

static int
usage(FILE *f)
{
	size_t	 i;

	fprintf(f, "usage: fedtrust COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "  %-8s %s\n", "version", "print the version");
	fprintf(f, "\nSee fedtrust(1).\n");
	return f == stdout ? EXIT_OK : EXIT_USAGE;
}

int
main(int argc, char *argv[])
{
	size_t	 i;
	int	 rc;

	if (argc < 2)
		return usage(stderr);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return usage(stdout);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("fedtrust %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) != 0)
			continue;
		if (xml_init() == -1 || fetch_init() == -1) {
			fprintf(stderr, "fedtrust: cannot initialise libxml2/xmlsec/libcurl\n");
			return EXIT_INTERNAL;
		}
		/* FEDTRUST_SAML_ENGINE=dom|stream (tests, benchmarks) */
		saml_set_default_engine(getenv("FEDTRUST_SAML_ENGINE"));
		rc = cmds[i].fn(argc - 1, argv + 1);
		fetch_shutdown();
		xml_shutdown();
		return rc;
	}
	fprintf(stderr, "fedtrust: unknown command \"%s\"\n", argv[1]);
	return usage(stderr);
}
