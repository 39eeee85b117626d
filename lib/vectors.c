// SPDX-License-Identifier: MIT
/*
 * The one place that reads test-vector files (vectors.h): CAVP .rsp text
 * and ACVP JSON (json-c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "vectors.h"

const char *vec_get(const struct vec_rec *r, const char *name)
{
	for (size_t i = r->n; i-- > 0;)
		if (!strcmp(r->f[i].name, name))
			return r->f[i].val;
	return NULL;
}

const char *vec_get_ci(const struct vec_rec *r, const char *name)
{
	for (size_t i = r->n; i-- > 0;)
		if (!strcasecmp(r->f[i].name, name))
			return r->f[i].val;
	return NULL;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int vec_hex(const char *hex, uint8_t **out, size_t *len)
{
	size_t n = strlen(hex);
	uint8_t *b;

	if (n % 2)
		return -EINVAL;
	b = malloc(n / 2 + 1);
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(b);
			return -EINVAL;
		}
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	*out = b;
	*len = n / 2;
	return 0;
}

/* Append a field; @own: the strings belong to @r (copied). */
static int rec_add(struct vec_rec *r, const char *name, const char *val, bool own)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct vec_field *f = realloc(r->f, cap * sizeof(*f));

		if (!f)
			return -ENOMEM;
		r->f = f;
		r->cap = cap;
	}
	r->f[r->n].name = own ? strdup(name) : (char *)name;
	r->f[r->n].val = own ? strdup(val) : (char *)val;
	if (own && (!r->f[r->n].name || !r->f[r->n].val)) {
		free(r->f[r->n].name);
		free(r->f[r->n].val);
		return -ENOMEM;
	}
	r->n++;
	return 0;
}

static void rec_clear(struct vec_rec *r, bool own)
{
	if (own)
		for (size_t i = 0; i < r->n; i++) {
			free(r->f[i].name);
			free(r->f[i].val);
		}
	r->n = 0;
}

static void rec_free(struct vec_rec *r, bool own)
{
	rec_clear(r, own);
	free(r->f);
	r->f = NULL;
	r->cap = 0;
}

static int rec_append(struct vec_rec *dst, const struct vec_rec *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (rec_add(dst, src->f[i].name, src->f[i].val, false))
			return -ENOMEM;
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

struct cavp {
	struct vec_rec sect, carry, block, out;
	bool in_sect;		/* the last non-blank line was a section line */
	const char *trigger;
	vec_cb cb;
	void *arg;
};

/* End of a block: a test (call back) or context for the next ones. */
static int cavp_flush(struct cavp *p)
{
	int ret = 0;

	if (!p->block.n)
		return 0;
	if (vec_get_ci(&p->block, p->trigger)) {
		rec_clear(&p->out, false);
		p->out.line = p->block.line;
		if (rec_append(&p->out, &p->sect) || rec_append(&p->out, &p->carry) ||
		    rec_append(&p->out, &p->block))
			ret = -ENOMEM;
		else
			ret = p->cb(&p->out, p->arg);
		rec_clear(&p->block, true);
		return ret;
	}
	/* Context: move the block's fields (owned) to carry. */
	for (size_t i = 0; i < p->block.n; i++) {
		if (rec_add(&p->carry, p->block.f[i].name, p->block.f[i].val, false)) {
			rec_clear(&p->block, true);
			return -ENOMEM;
		}
	}
	p->block.n = 0;
	return 0;
}

static int cavp_section(struct cavp *p, char *s)
{
	char *end = strrchr(s, ']'), *eq;

	if (!p->in_sect) {
		rec_clear(&p->sect, true);
		rec_clear(&p->carry, true);
	}
	p->in_sect = true;
	if (end)
		*end = '\0';
	s = trim(s + 1);
	eq = strchr(s, '=');
	if (eq) {
		*eq = '\0';
		return rec_add(&p->sect, trim(s), trim(eq + 1), true);
	}
	if (strchr(s, ','))
		return rec_add(&p->sect, "_section", s, true);
	return rec_add(&p->sect, s, "", true);
}

static int parse_cavp(const char *path, const char *trigger, vec_cb cb, void *arg)
{
	struct cavp p = { .trigger = trigger, .cb = cb, .arg = arg };
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	unsigned int lineno = 0;
	int ret = 0;

	if (!f) {
		ret = -errno;
		fprintf(stderr, "validate: %s: %s\n", path, strerror(errno));
		return ret;
	}
	while (!ret && getline(&line, &cap, f) >= 0) {
		char *s = trim(line), *eq;

		lineno++;
		if (*s == '#')
			continue;
		if (!*s) {
			ret = cavp_flush(&p);
			continue;
		}
		if (*s == '[') {
			ret = cavp_flush(&p);
			if (!ret)
				ret = cavp_section(&p, s);
			continue;
		}
		p.in_sect = false;
		if (!p.block.n)
			p.block.line = lineno;
		eq = strchr(s, '=');
		if (eq) {
			*eq = '\0';
			ret = rec_add(&p.block, trim(s), trim(eq + 1), true);
		} else {
			ret = rec_add(&p.block, s, "", true);
		}
	}
	if (!ret)
		ret = cavp_flush(&p);
	free(line);
	fclose(f);
	rec_free(&p.block, true);
	/* carry holds strings moved from blocks: owned. */
	rec_free(&p.carry, true);
	rec_free(&p.sect, true);
	rec_free(&p.out, false);
	return ret;
}

static bool json_scalar(struct json_object *o)
{
	enum json_type t = json_object_get_type(o);

	return t == json_type_string || t == json_type_int || t == json_type_boolean ||
	       t == json_type_double;
}

static int add_scalars(struct vec_rec *r, struct json_object *obj)
{
	json_object_object_foreach(obj, key, val) {
		if (val && json_scalar(val) &&
		    rec_add(r, key, json_object_get_string(val), false))
			return -ENOMEM;
	}
	return 0;
}

static int parse_acvp(const char *path, vec_cb cb, void *arg)
{
	struct json_object *root = json_object_from_file(path), *groups;
	struct vec_rec r = { 0 };
	int ret = 0;

	if (!root) {
		fprintf(stderr, "validate: %s: %s\n", path, json_util_get_last_err());
		return -EINVAL;
	}
	if (!json_object_object_get_ex(root, "testGroups", &groups) ||
	    json_object_get_type(groups) != json_type_array) {
		fprintf(stderr, "validate: %s: no testGroups array\n", path);
		json_object_put(root);
		return -EINVAL;
	}
	for (size_t g = 0; !ret && g < json_object_array_length(groups); g++) {
		struct json_object *grp = json_object_array_get_idx(groups, g), *tests;

		if (!json_object_object_get_ex(grp, "tests", &tests) ||
		    json_object_get_type(tests) != json_type_array)
			continue;
		for (size_t t = 0; !ret && t < json_object_array_length(tests); t++) {
			struct json_object *tc = json_object_array_get_idx(tests, t), *id;

			rec_clear(&r, false);
			ret = add_scalars(&r, root);
			if (!ret)
				ret = add_scalars(&r, grp);
			if (!ret)
				ret = add_scalars(&r, tc);
			r.line = json_object_object_get_ex(tc, "tcId", &id) ?
				 (unsigned int)json_object_get_int(id) : 0;
			if (!ret)
				ret = cb(&r, arg);
		}
	}
	rec_free(&r, false);
	json_object_put(root);
	return ret;
}

int vec_parse_file(const char *path, const char *trigger, vec_cb cb, void *arg)
{
	size_t n = strlen(path);

	if (n > 5 && !strcmp(path + n - 5, ".json"))
		return parse_acvp(path, cb, arg);
	return parse_cavp(path, trigger, cb, arg);
}
