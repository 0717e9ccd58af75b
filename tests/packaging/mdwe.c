/* mdwe: run a command under the seccomp filter systemd installs for
 * MemoryDenyWriteExecute=yes (systemd 252, src/shared/seccomp-util.c):
 * mmap with PROT_WRITE|PROT_EXEC, mprotect/pkey_mprotect adding PROT_EXEC
 * and shmat with SHM_EXEC fail with EPERM. tests/packaging/run.sh uses it to
 * show that driftgate still validates `pattern`s when PCRE2's JIT cannot get
 * executable memory (driftgate.service sets MemoryDenyWriteExecute=yes).
 *
 *   mdwe [--no-filter] --probe-jit   print whether PCRE2 JIT-compiles here
 *   mdwe COMMAND [ARG...]            exec COMMAND under the filter
 *
 * x86-64 only (the filter checks the audit architecture and lets every
 * system call of another architecture fail). */
#define _GNU_SOURCE
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pcre2.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARG2 (offsetof(struct seccomp_data, args[2]))
#define DENY (SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))

static int install_filter(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, DENY),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 4, 0),          /* -> 9 */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mprotect, 8, 0),      /* -> 14 */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pkey_mprotect, 7, 0), /* -> 14 */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_shmat, 10, 0),        /* -> 18 */
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* 9: mmap: deny when prot has both PROT_WRITE and PROT_EXEC */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG2),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_WRITE | PROT_EXEC, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, DENY),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* 14: mprotect, pkey_mprotect: deny adding PROT_EXEC */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG2),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, DENY),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* 18: shmat: deny SHM_EXEC */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG2),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, SHM_EXEC, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, DENY),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        perror("mdwe: seccomp");
        return -1;
    }
    return 0;
}

/* JIT-compiles a pattern; prints "jit: yes" or "jit: no (reason)". */
static int probe_jit(void)
{
    int err;
    PCRE2_SIZE off;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR) "^[a-z0-9-]{1,64}$", PCRE2_ZERO_TERMINATED, PCRE2_UTF,
                                  &err, &off, NULL);
    if (!c) {
        fprintf(stderr, "mdwe: pcre2_compile failed\n");
        return 2;
    }
    int rc = pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
    size_t jsz = 0;
    pcre2_pattern_info(c, PCRE2_INFO_JITSIZE, &jsz);
    if (rc == 0 && jsz > 0) {
        printf("jit: yes (%zu bytes of machine code)\n", jsz);
    } else {
        PCRE2_UCHAR msg[120];
        pcre2_get_error_message(rc, msg, sizeof msg);
        printf("jit: no (%s)\n", (char *)msg);
    }
    pcre2_code_free(c);
    return 0;
}

int main(int argc, char **argv)
{
    int i = 1, filter = 1;
    if (i < argc && !strcmp(argv[i], "--no-filter")) {
        filter = 0;
        i++;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: mdwe [--no-filter] --probe-jit | mdwe COMMAND [ARG...]\n");
        return 2;
    }
    if (filter && install_filter())
        return 2;
    /* The filter itself must work, or every check built on it is void. */
    if (filter) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
            fprintf(stderr, "mdwe: the filter let a W+X mapping through\n");
            return 2;
        }
    }
    if (!strcmp(argv[i], "--probe-jit"))
        return probe_jit();
    execvp(argv[i], argv + i);
    fprintf(stderr, "mdwe: %s: %s\n", argv[i], strerror(errno));
    return 127;
}
