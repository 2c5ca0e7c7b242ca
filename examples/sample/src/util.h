/* util.h - helpers for the aim demo sample */
#ifndef UTIL_H
#define UTIL_H

int parse_count(const char *s);
void fill_digits(char *out);

#endif
