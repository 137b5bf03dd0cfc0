/*
 * Per-role lockdown of fedtrustd's child processes (style.md: rpki-client's
 * pledge/unveil mapped onto Linux).  A child calls sandbox_enter first:
 *  - no_new_privs, no core dumps, bounded descriptors;
 *  - Landlock: the file system shrinks to the paths the role needs (read
 *    only or read-write), and TCP bind/connect is refused where the kernel
 *    knows network rules (ABI 4+); an older kernel without Landlock logs
 *    once and relies on the rest;
 *  - a seccomp filter (a denylist: what no role ever needs): new sockets
 *    other than AF_UNIX (syslog) for the verify role, exec, ptrace,
 *    process_vm_*, mount, kexec, module loading, bpf, perf.
 * systemd's unit is the outer wall; this is the inner one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "extern.h"

#if defined(__x86_64__)
#define SANDBOX_ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_ARCH	AUDIT_ARCH_AARCH64
#endif

/* LeakSanitizer stops the world with ptrace: keep it under sanitizer builds. */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_KEEP_PTRACE	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_KEEP_PTRACE	1
#endif
#endif

/* Newer than the oldest headers we build with (Debian 12: ABI 2). */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)
#endif
#define LL_NET_BIND_TCP			(1ULL << 0)
#define LL_NET_CONNECT_TCP		(1ULL << 1)

/* landlock_ruleset_attr as of ABI 4 (the kernel takes any known prefix). */
struct ll_ruleset_attr {
	uint64_t	 handled_access_fs;
	uint64_t	 handled_access_net;
};

/* File-system rights Landlock knows, by ABI version. */
static uint64_t
fs_rights(int abi)
{
	uint64_t	 r = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
	    LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
	    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
	    LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
	    LANDLOCK_ACCESS_FS_MAKE_SYM;

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	return r;
}

#define FS_READ		(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_FILE_ONLY	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE)

/* Allow rights (masked to what path is and what the ruleset handles) under path. */
static int
landlock_allow(int rs, const char *path, uint64_t rights, uint64_t handled)
{
	struct landlock_path_beneath_attr	 pb;
	struct stat				 sb;
	int					 fd, rc;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;	/* nothing there: nothing to allow */
	if (fstat(fd, &sb) == -1) {
		close(fd);
		return -1;
	}
	memset(&pb, 0, sizeof(pb));
	pb.parent_fd = fd;
	pb.allowed_access = rights & handled;
	if (!S_ISDIR(sb.st_mode))
		pb.allowed_access &= FS_FILE_ONLY;
	rc = (int)syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	close(fd);
	return rc == -1 ? -1 : 0;
}

/* Landlock for the paths of sp (and TCP for the verify role). 0, 1 unsupported, -1 error. */
static int
landlock_enter(const struct sandbox_paths *sp, int no_tcp)
{
	struct ll_ruleset_attr		 ra;
	uint64_t			 rw;
	size_t				 i;
	int				 abi, rs, rc = -1;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1 && errno == EPERM) {
		/* a system-call filter (the service unit's) refuses Landlock: say so */
		log_warnx("sandbox: Landlock is blocked by a system-call filter; allow "
		    "landlock_create_ruleset, landlock_add_rule and landlock_restrict_self");
		return 1;
	}
	if (abi < 1)
		return 1;
	memset(&ra, 0, sizeof(ra));
	ra.handled_access_fs = fs_rights(abi);
	/* no rule for any port: TCP bind and connect are refused (ABI 4+) */
	if (abi >= 4 && no_tcp)
		ra.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
	/* the struct grew with the ABI: pass only what this kernel knows */
	if ((rs = (int)syscall(SYS_landlock_create_ruleset, &ra,
	    abi >= 4 ? sizeof(ra) : sizeof(ra.handled_access_fs), 0)) == -1)
		return -1;
	rw = fs_rights(abi) & ~(uint64_t)(LANDLOCK_ACCESS_FS_EXECUTE |
	    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
	    LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO);
	for (i = 0; i < sp->nro; i++)
		if (landlock_allow(rs, sp->ro[i], FS_READ, ra.handled_access_fs) == -1) {
			log_warn("sandbox: landlock %s", sp->ro[i]);
			goto out;
		}
	for (i = 0; i < sp->nrw; i++)
		if (landlock_allow(rs, sp->rw[i], rw, ra.handled_access_fs) == -1) {
			log_warn("sandbox: landlock %s", sp->rw[i]);
			goto out;
		}
	if (syscall(SYS_landlock_restrict_self, rs, 0) == -1)
		goto out;
	rc = 0;
out:
	close(rs);
	return rc;
}

/* One BPF statement list: deny syscall nr with errno. */
#define DENY(nr, err) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((err) & SECCOMP_RET_DATA))

/* The seccomp denylist; sockets other than AF_UNIX too when no_net. 0 / -1. */
static int
seccomp_enter(int no_net)
{
#ifdef SANDBOX_ARCH
	struct sock_filter	 f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		DENY(__NR_execve, EPERM),
		DENY(__NR_execveat, EPERM),
#ifndef SANDBOX_KEEP_PTRACE
		DENY(__NR_ptrace, EPERM),
#endif
		DENY(__NR_process_vm_readv, EPERM),
		DENY(__NR_process_vm_writev, EPERM),
		DENY(__NR_mount, EPERM),
		DENY(__NR_umount2, EPERM),
		DENY(__NR_kexec_load, EPERM),
		DENY(__NR_init_module, EPERM),
		DENY(__NR_finit_module, EPERM),
		DENY(__NR_bpf, EPERM),
		DENY(__NR_perf_event_open, EPERM),
		DENY(__NR_userfaultfd, EPERM),
		/* socket(domain, ...): only AF_UNIX when the role has no network */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, no_net ? SECCOMP_RET_ERRNO | EACCES : SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog	 prog = { (unsigned short)(sizeof(f) / sizeof(f[0])), f };

	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1 ? -1 : 0;
#else
	(void)no_net;
	log_warnx("sandbox: no seccomp filter for this architecture");
	return 0;
#endif
}

int
sandbox_enter(enum sandbox_role role, const struct sandbox_paths *sp)
{
	struct rlimit	 core = { 0, 0 }, nofile = { MAX_SANDBOX_FILES, MAX_SANDBOX_FILES };
	int		 ll, no_net = role == SANDBOX_VERIFY;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		log_warn("sandbox: no_new_privs");
		return -1;
	}
	(void)setrlimit(RLIMIT_CORE, &core);
	if (role == SANDBOX_VERIFY)
		(void)setrlimit(RLIMIT_NOFILE, &nofile);
	/* serve and fetch keep their sockets; only verify loses TCP */
	if ((ll = landlock_enter(sp, no_net)) == -1) {
		log_warn("sandbox: landlock");
		return -1;
	}
	if (ll == 1)
		log_info("sandbox: this kernel has no Landlock; file-system limits rest on the "
		    "service unit");
	if (seccomp_enter(no_net) == -1) {
		log_warn("sandbox: seccomp");
		return -1;
	}
	return 0;
}
