/* Loads the two state change programs of one of nettracer's BPF objects (CO-RE, or with
 * "guess" the object for guessed offsets) without attaching them, for tests/e2e/nest.py. No
 * state change of the machine runs them, so their per-CPU nest stack holds only what the test's
 * BPF_PROG_TEST_RUN calls leave there.
 *
 * Prints "NAME ID" for the two programs and the maps nest and stats, then "ready", and keeps them
 * loaded until its standard input ends. */
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "event.h" /* the types the skeletons name */
#include "nettracer.skel.h"
#include "nettracer_offsets.skel.h"

static unsigned int prog_id(const struct bpf_program *prog)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) ? 0 : info.id;
}

static unsigned int map_id(const struct bpf_map *map)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(bpf_map__fd(map), &info, &len) ? 0 : info.id;
}

static void print_ids(struct bpf_object *obj)
{
	static const char *const maps[] = { "nest", "stats" };
	struct bpf_program *prog;
	unsigned int i;

	bpf_object__for_each_program(prog, obj)
		if (bpf_program__autoload(prog))
			printf("%s %u\n", bpf_program__name(prog), prog_id(prog));
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		printf("%s %u\n", maps[i], map_id(bpf_object__find_map_by_name(obj, maps[i])));
	printf("ready\n");
	fflush(stdout);
}

static void only_state_programs(struct bpf_object *obj)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj)
		bpf_program__set_autoload(prog, !strncmp(bpf_program__name(prog), "tp_set_state",
							 strlen("tp_set_state")));
}

int main(int argc, char **argv)
{
	struct nettracer_offsets_bpf *guessed = NULL;
	struct nettracer_bpf *core = NULL;
	struct bpf_object *obj;
	int err;

	if (argc > 1 && !strcmp(argv[1], "guess")) {
		guessed = nettracer_offsets_bpf__open();
		obj = guessed ? guessed->obj : NULL;
	} else {
		core = nettracer_bpf__open();
		obj = core ? core->obj : NULL;
	}
	if (!obj) {
		perror("nest_load: opening the BPF object");
		return 1;
	}
	only_state_programs(obj);
	/* The test passes each run's frame as a fourth argument (bpf/nettracer.bpf.c). */
	if (guessed)
		guessed->rodata->nest_frame_from_args = true;
	else
		core->rodata->nest_frame_from_args = true;
	err = guessed ? nettracer_offsets_bpf__load(guessed) : nettracer_bpf__load(core);
	if (err) {
		fprintf(stderr, "nest_load: loading: %s\n", strerror(-err));
		return 1;
	}
	print_ids(obj);
	while (getchar() != EOF)
		;
	nettracer_offsets_bpf__destroy(guessed);
	nettracer_bpf__destroy(core);
	return 0;
}
