/* cgroup v2: ids to paths under the cgroup2 mount, the cgroup of a process, container ids. */
#ifndef NT_CGROUP_H
#define NT_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hex digits of a full container id (docker, containerd, CRI-O and podman all use 64). */
#define CGROUP_CONTAINER_ID_LEN 64

/* The cgroup2 hierarchy of one mount, with a cache of id → path. */
struct cgroups;

/* Opens the cgroup2 hierarchy mounted at mount, or, when mount is NULL, the one that
 * /proc/self/mountinfo names (/sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a
 * hybrid one). Walks the tree once to fill the cache. NULL with errno set on failure: ENOENT
 * when no cgroup2 file system is mounted. */
struct cgroups *cgroups__open(const char *mount);
void cgroups__destroy(struct cgroups *cg);

/* The mount point, as given or as found. */
const char *cgroups__mount(const struct cgroups *cg);

/* The path relative to the mount ("/" for the root, "/system.slice/docker-<id>.scope") of the
 * cgroup whose v2 id is id: what bpf_get_current_cgroup_id() returns, the inode number of the
 * cgroup's directory. NULL when no such cgroup is known. An id missing from the cache makes
 * the tree be walked again, at most once a second; a walk forgets cgroups removed since the
 * last one. The string belongs to cg and stays valid until the next cgroups__path() or
 * cgroups__destroy(): copy it to keep it. */
const char *cgroups__path(struct cgroups *cg, uint64_t id);

/* The v2 id of the cgroup at path: relative to the mount ("/system.slice", "system.slice",
 * "/" for the root) or absolute under it ("/sys/fs/cgroup/system.slice"). Read from the file
 * system, not the cache. 0 or -errno: -EINVAL for a ".." component, -ENOTDIR when path is not
 * a directory, -EXDEV when it is one outside the cgroup2 file system. */
int cgroups__id_of(const struct cgroups *cg, const char *path, uint64_t *id);

/* The mount point of the cgroup2 file system in the text of /proc/PID/mountinfo, with its
 * escapes (\040 for a space) undone. The first cgroup2 mount of the whole hierarchy (root
 * "/"), else the first cgroup2 mount at all. 0, -ENOENT when there is none, -ENAMETOOLONG
 * when it does not fit in size bytes. */
int cgroup_parse_mountinfo(const char *text, char *mount, size_t size);

/* The cgroup v2 path in the text of /proc/PID/cgroup: the "0::/path" line; the v1 lines of a
 * hybrid host ("4:memory:/...") are ignored. 0, -ENOENT when there is no v2 line,
 * -ENAMETOOLONG when the path does not fit in size bytes. */
int cgroup_parse_proc(const char *text, char *path, size_t size);

/* The cgroup v2 path of process pid, read from /proc/PID/cgroup. 0 or -errno, as above; -ESRCH
 * when the process does not exist. */
int cgroup_of_pid(int pid, char *path, size_t size);

/* The container id in a cgroup path, from the innermost component that has one, so that a
 * process in a sub-cgroup of a container (a rootless podman's ".../libpod-<id>.scope/container")
 * still belongs to it. The forms, each with exactly 64 lowercase hex digits <id>:
 *   <id>                         cgroupfs driver: /docker/<id>, /kubepods/<qos>/pod<uid>/<id>
 *   docker-<id>.scope            docker, systemd driver
 *   cri-containerd-<id>.scope    containerd CRI, systemd driver
 *   crio-<id>.scope, crio-<id>   CRI-O, systemd and cgroupfs drivers
 *   libpod-<id>.scope, libpod-<id>  podman, systemd and cgroupfs drivers
 * The monitors beside containers (crio-conmon-<id>.scope, libpod-conmon-<id>.scope) are not
 * containers. true with the id and its terminating NUL in id; false leaves id alone. */
bool cgroup_container_id(const char *path, char id[CGROUP_CONTAINER_ID_LEN + 1]);

#endif /* NT_CGROUP_H */
