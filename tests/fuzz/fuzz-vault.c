/*
 * fuzz-vault: aim_vault_open with a key file.  First byte even: the input
 * is the vault file as it is (header checks).  Odd: the rest is the
 * plaintext content, sealed with the key under a header aim made, so the
 * content parser behind the authentication sees it.
 */
#include <sodium.h>

#include "fuzz.h"

static char vpath[256], kpath[256];
static unsigned char header[84], key[AIM_VAULT_KEY_BYTES];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct aim_vault v;
	struct aim_unlock u = { NULL, NULL, 0 };
	char *why = NULL;
	int fd;

	snprintf(vpath, sizeof(vpath), "%s/vault", fuzz_tmpdir());
	snprintf(kpath, sizeof(kpath), "%s/vault.key", fuzz_tmpdir());
	u.keyfile = kpath;
	if (aim_vault_setup() == -1 ||
	    aim_vault_keyfile_create(kpath, &why) != AIM_VAULT_OK ||
	    aim_vault_create(&v, vpath, &u, &why) != AIM_VAULT_OK)
		abort();
	aim_vault_close(&v);
	/* The header aim wrote: the key check and nonce of that key. */
	if ((fd = open(vpath, O_RDONLY)) == -1 ||
	    read(fd, header, sizeof(header)) != sizeof(header))
		abort();
	close(fd);
	if ((fd = open(kpath, O_RDONLY)) == -1 ||
	    read(fd, key, sizeof(key)) != sizeof(key))
		abort();
	close(fd);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aim_unlock u = { kpath, NULL, 0 };
	struct aim_vault v;
	unsigned char *file;
	unsigned long long clen;
	char *why = NULL;
	size_t flen;

	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0) {
		fuzz_write(vpath, data + 1, size - 1, 0600);
	} else {
		flen = sizeof(header) + size - 1 +
		    crypto_aead_xchacha20poly1305_ietf_ABYTES;
		if ((file = malloc(flen)) == NULL)
			abort();
		memcpy(file, header, sizeof(header));
		crypto_aead_xchacha20poly1305_ietf_encrypt(file +
		    sizeof(header), &clen, data + 1, size - 1, header,
		    sizeof(header), NULL, header + 44, key);
		fuzz_write(vpath, file, sizeof(header) + clen, 0600);
		free(file);
	}
	aim_vault_open(&v, vpath, &u, 0, &why);
	aim_vault_close(&v);
	free(why);
	return 0;
}
