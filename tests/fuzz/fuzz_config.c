/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the config parser. Besides "no crash, no leak, no
 * undefined behaviour", every input checks the module's promises:
 *   - a rejected input says why, each line naming the file;
 *   - an accepted config passes lp_config_validate() (parser and validator
 *     enforce the same rules);
 *   - it writes, and the text parses back to an equal config;
 *   - lp_config_dup() gives an equal config.
 * A broken promise aborts, which libFuzzer reports as a crash.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_config: %s\n", what);
		abort();
	}
}

static void
check_round_trip(const struct lp_config *c)
{
	struct lp_diag diag = { 0 };
	struct lp_config *back, *copy;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	check(f != NULL, "open_memstream");
	check(lp_config_write(c, f) == 0, "lp_config_write failed");
	check(fclose(f) == 0, "fclose");
	back = lp_config_parse(text, len, "written.yaml", &diag);
	if (back == NULL) {
		fprintf(stderr, "written text:\n%s\n", text);
		lp_diag_print(&diag, stderr);
	}
	check(back != NULL, "written config does not parse");
	check(lp_config_equal(c, back), "written config parses to another config");
	copy = lp_config_dup(c);
	check(copy != NULL && lp_config_equal(c, copy), "lp_config_dup differs");
	lp_config_free(copy);
	lp_config_free(back);
	lp_diag_clear(&diag);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lp_diag diag = { 0 };
	struct lp_config *c;

	errno = 0;
	c = lp_config_parse((const char *)data, size, "fuzz.yaml", &diag);
	if (c == NULL) {
		check(diag.n != 0 || errno == ENOMEM, "rejected without a message");
		for (uint32_t i = 0; i < diag.n; i++)
			check(strncmp(diag.msg[i], "fuzz.yaml", 9) == 0, "message without the file name");
		lp_diag_clear(&diag);
		return 0;
	}
	check(diag.n == 0, "accepted with messages");
	check(lp_config_validate(c, &diag) == 0, "accepted config fails lp_config_validate");
	check_round_trip(c);
	lp_config_free(c);
	lp_diag_clear(&diag);
	return 0;
}
