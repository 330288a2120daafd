/* SPDX-License-Identifier: BSD-3-Clause */
/* placeholder: replaced by the application */
int
main(void)
{
	return 0;
}
