#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/tty.h"
#include "keys/key.h"
#include "keys/keyfile.h"
#include "util/error.h"
#include "util/fs.h"

static const char keygen_usage[] =
	"usage: stele keygen [--type T] [--output-prefix P] [--passphrase-file F]\n"
	"\n"
	"Make a key pair (Ed25519 unless --type says otherwise): P.key, the\n"
	"private key encrypted under a passphrase (cosign's format, mode 0600),\n"
	"and P.pub, the public key (PEM, PKIX).  Prints the key id (SHA-256 of the public key's DER).\n"
	"Never overwrites a file.  The passphrase comes from --passphrase-file\n"
	"(its first line), else $STELE_PASSWORD, else the terminal (asked\n"
	"twice).  See docs/keys.md.\n"
	"\n"
	"      --type T             ed25519 (default) or ecdsa-p256 (the kind\n"
	"                           `cosign generate-key-pair` makes)\n"
	"      --output-prefix P    where to write (default: stele)\n"
	"      --passphrase-file F  read the passphrase from F\n"
	"      --json               print {\"keyId\", \"type\", \"privateKey\",\n"
	"                           \"publicKey\"} (the files' paths) as JSON\n"
	"  -h, --help               this help\n";

int
cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output-prefix", required_argument, NULL, 'o' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "type", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct stele_buf keypem = STELE_BUF_INIT(STELE_KEYFILE_MAX);
	struct stele_buf pubpem = STELE_BUF_INIT(STELE_KEYFILE_MAX);
	const char *prefix = "stele", *passfile = NULL;
	enum stele_key_type type = STELE_KEY_ED25519;
	struct stele_secret *pass = NULL;
	struct stele_seckey *k = NULL;
	char *kpath = NULL, *ppath = NULL;
	int c, error, code = EXIT_ERROR, as_json = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': prefix = optarg; break;
		case 'p': passfile = optarg; break;
		case 't':
			if (!strcmp(optarg, "ed25519"))
				type = STELE_KEY_ED25519;
			else if (!strcmp(optarg, "ecdsa-p256"))
				type = STELE_KEY_ECDSA_P256;
			else
				return cli_usage(
					keygen_usage,
					"--type '%s': want ed25519 or ecdsa-p256",
					optarg);
			break;
		case 'j': as_json = 1; break;
		default: return cli_help(c, keygen_usage);
		}
	}
	if (optind != argc)
		return cli_usage(keygen_usage, "unexpected argument '%s'",
				 argv[optind]);
	if (!*prefix)
		return cli_usage(keygen_usage, "--output-prefix is empty");
	kpath = stele_xasprintf("%s.key", prefix);
	ppath = stele_xasprintf("%s.pub", prefix);
	/* Refuse before asking for a passphrase; O_EXCL below closes the race. */
	if (stele_fs_exists(kpath) || stele_fs_exists(ppath)) {
		error = stele_error_setc(
			STELE_EINVALID,
			"'%s' already exists; not overwriting it",
			stele_fs_exists(kpath) ? kpath : ppath);
		goto fail;
	}
	if ((error = cli_passphrase(
		     &pass, passfile,
		     "Passphrase for the new key: ", CLI_TTY_CONFIRM)) < 0 ||
	    (error = stele_seckey_generate_type(&k, type)) < 0 ||
	    (error = stele_keyfile_write(&keypem, k, pass)) < 0 ||
	    (error = stele_pubkey_pem(&pubpem, &k->pub)) < 0 ||
	    (error = stele_fs_write_new(kpath, keypem.ptr, keypem.len, 0600)) <
		    0)
		goto fail;
	if ((error = stele_fs_write_new(ppath, pubpem.ptr, pubpem.len, 0644)) <
	    0) {
		unlink(kpath);
		goto fail;
	}
	if (as_json) {
		code = cli_json_print(json_pack(
			"{s:s,s:s,s:s,s:s}", "keyId", k->pub.id, "type",
			type == STELE_KEY_ED25519 ? "ed25519" : "ecdsa-p256",
			"privateKey", kpath, "publicKey", ppath));
		goto out;
	}
	printf("%s\n", k->pub.id);
	fprintf(stderr, "stele: wrote %s and %s\n", kpath, ppath);
	code = EXIT_OK;
	goto out;
fail:
	code = cli_fail(error);
out:
	stele_seckey_free(k);
	stele_secret_free(pass);
	stele_buf_release(&pubpem);
	stele_buf_release(&keypem);
	free(ppath);
	free(kpath);
	return code;
}
