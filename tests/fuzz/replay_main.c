// SPDX-License-Identifier: MIT
/*
 * Runs a fuzz target over files, without libFuzzer: the corpus (seeds and
 * every crash input ever found) replays in every normal build and under the
 * sanitizers, so a fixed crash stays fixed.
 *
 * usage: replay_TARGET FILE_OR_DIR...  (exit 1 when nothing was replayed)
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_check.h"

#define REPLAY_FILE_MAX (16 * 1024 * 1024)

static int replay_file(const char *path)
{
	uint8_t *data = NULL;
	struct stat st;
	size_t got = 0;
	FILE *f;
	int err = 0;

	f = fopen(path, "rb");
	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) || st.st_size > REPLAY_FILE_MAX) {
		err = -EFBIG;
		goto out;
	}
	/* exactly the file's size: ASan then catches reads past the input */
	data = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!data) {
		err = -ENOMEM;
		goto out;
	}
	got = fread(data, 1, (size_t)st.st_size, f);
	if (got != (size_t)st.st_size) {
		err = -EIO;
		goto out;
	}
	fprintf(stderr, "replay %s (%zu bytes)\n", path, got);
	LLVMFuzzerTestOneInput(data, got);
out:
	free(data);
	fclose(f);
	return err;
}

static int compare_names(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_hidden(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Every regular file of dir, in name order (a failure then reproduces alike). */
static int replay_dir(const char *dir, size_t *count)
{
	struct dirent **names;
	char path[4096];
	int n, i, err = 0;

	n = scandir(dir, &names, not_hidden, compare_names);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (!err && names[i]->d_type != DT_DIR) {
			err = replay_file(path);
			if (err)
				fprintf(stderr, "%s: %s\n", path, strerror(-err));
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return err;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	struct stat st;
	int i, err;

	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st)) {
			perror(argv[i]);
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			err = replay_dir(argv[i], &count);
		} else {
			err = replay_file(argv[i]);
			count += !err;
		}
		if (err) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(-err));
			return 1;
		}
	}
	printf("%s: replayed %zu inputs\n", argv[0], count);
	return count ? 0 : 1;
}
