/* util.c - helpers for the aim demo sample (has a bug cppcheck finds) */
#include <stdlib.h>

#include "util.h"

int
parse_count(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end != '\0' || v < 0)
		return 0;
	return (int)v;
}

void
fill_digits(char *out)
{
	char digits[10];
	int i;

	for (i = 0; i < 10; i++)
		digits[i] = (char)('0' + i);
	digits[10] = '\0'; /* off by one: cppcheck arrayIndexOutOfBounds */
	for (i = 0; i <= 10; i++)
		out[i] = digits[i];
}
