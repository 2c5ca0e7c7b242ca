/*
 * aim-util.h: layer 0 of libaim, the base: memory, clocks, paths, files,
 * hashes.  lib/LAYERS gives the table: a module includes its own layer's
 * header, which includes the lower ones, and calls nothing above it.
 */
#ifndef AIM_UTIL_H
#define AIM_UTIL_H

#include <sys/types.h>

#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

/*
 * Ownership rule for json_t values, as in jansson: a function whose comment
 * says "steals" takes over the caller's reference; "borrowed" results live as
 * long as their container; everything else returns a new reference that the
 * caller must json_decref().
 */

#define AIM_VERSION	"0.1.0"
#define AIM_CONTRACT	"AIM_INTEGRATION_V1"
#define AIM_REGISTRY_DIRNAME	".AIM_ai-tools-registry"

/* Exit statuses of every aim binary; aim(7) documents them. */
enum aim_exit {
	AIM_EXIT_OK = 0,	/* every record succeeded */
	AIM_EXIT_FAILED = 1,	/* an error record or failed result was written */
	AIM_EXIT_USAGE = 2,	/* bad command line */
	AIM_EXIT_CONFIG = 3,	/* registry, rules or config unusable */
	AIM_EXIT_IO = 4,	/* input, output or audit I/O failed */
	AIM_EXIT_NOTRUN = 126,	/* aim(1): a command found, not runnable */
	AIM_EXIT_NOTFOUND = 127, /* aim(1): no such command */
	AIM_EXIT_SIGNAL = 128	/* + signal number: interrupted */
};

/* ---- util.c: memory, clocks, paths, files, hashes ---- */

/* Fold a new exit status into *status: the higher of the two wins. */
void	 aim_exit_raise(int *status, int code);

/* malloc/realloc/strdup that exit with "out of memory" instead of failing. */
void	*aim_xmalloc(size_t size_bytes);
void	*aim_xrealloc(void *p, size_t size_bytes);
char	*aim_xstrdup(const char *s);

/* Monotonic clock in milliseconds (CLOCK_MONOTONIC); for durations only. */
int64_t	 aim_now_ms(void);

/*
 * UTC wall-clock time as the audit layout wants it (aim-audit(1) "Entries"):
 * iso  = "2026-11-21T18:45:32.123456Z" (28 bytes + NUL),
 * file = "2026-11-21T18-45-32-123456"   (26 bytes + NUL), a file-name stamp,
 * day  = "2026-11-21" (10 bytes + NUL).  Any pointer may be NULL.
 */
void	 aim_utc_stamp(char iso[32], char file[32], char day[16]);

/*
 * A new UUIDv7 (RFC 9562 §5.7) as 36 lowercase hex-and-dash characters:
 * time-ordered, and strictly increasing within one process (the 12-bit
 * rand_a field counts within a millisecond, RFC 9562 §6.2 method 1).
 */
void	 aim_uuid7(char out[37]);

/*
 * Expand %VAR%, ${VAR}, $VAR and a leading ~ from the environment
 * (aim-registry(5) "Expansion"): %USERPROFILE% falls back to $HOME, and
 * AIM_REGISTRY_PATH is registry_dir, the registry in use, when that is not
 * NULL (so -r wins over the environment).
 * Undefined variables stay as written.  Returns a malloc'd string.
 */
char	*aim_expand(const char *s, const char *registry_dir);

/*
 * Resolve a command the way execvp would, without running it: a name with a
 * '/' is checked as a path, other names are searched in path_list (a PATH
 * value; NULL means the process's PATH).  Returns a malloc'd absolute path
 * of an executable regular file, or NULL with errno ENOENT (not found) or
 * EACCES (found, not executable).
 */
char	*aim_which(const char *cmd, const char *path_list);

/*
 * read(2) until n bytes, end of file or an error, retrying on EINTR.
 * Returns the bytes read (short only at end of file), or -1 with errno.
 */
ssize_t	 aim_read_full(int fd, void *buf, size_t n_bytes);

/*
 * Read the whole regular file path (relative to dirfd: AT_FDCWD or an
 * open directory) into *buf, NUL-terminated, its length in *len (without
 * the NUL).  flags: AIM_READ_NOFOLLOW refuses a symlink (ELOOP) where a
 * name from readdir(3) must be the file itself; AIM_READ_SECRET puts the
 * bytes in sodium_malloc memory (guarded, locked: aim-secret(1)
 * SECURITY CONSIDERATIONS) for the caller to sodium_free, else the caller
 * free(3)s.
 * Returns 0, or -1 with errno: open(2)'s or read(2)'s, EISDIR or EINVAL
 * (a directory, another non-regular file), EFBIG (more than limit_bytes),
 * ENOMEM (no secure memory), EAGAIN (it grew while read); *buf untouched.
 */
#define AIM_READ_NOFOLLOW	0x1
#define AIM_READ_SECRET		0x2
int	 aim_read_file(int dirfd, const char *path, int flags,
	    size_t limit_bytes, char **buf, size_t *len);

/*
 * The JSON text of the file path (aim_read_file's flags and limit_bytes,
 * no AIM_READ_SECRET), parsed; a new reference, or NULL with errno:
 * aim_read_file's, or EINVAL when the text is not JSON.  For the files aim
 * keeps for itself and may find half-written or gone (the caches of
 * aim-scan(1) "Version cache" and aim-cache(1), an install's stamp): any
 * failure is an absent file to them.
 */
json_t	*aim_json_read(const char *path, int flags, size_t limit_bytes);

/*
 * write(2) all n_bytes of buf, going on after short writes and EINTR.
 * Returns 0, or -1 with errno: write(2)'s, or EIO when it wrote nothing
 * and said no error, so a message with strerror(errno) is always true.
 */
int	 aim_write_full(int fd, const void *buf, size_t n_bytes);

/*
 * The two ways aim writes a whole file.  flags: AIM_WRITE_NOSYNC skips
 * fsync(2) of the file and of its directory (a soft file, where a loss
 * costs nothing: aim-resolve(1) FILES, the state file); AIM_WRITE_UMASK
 * leaves the mode as the umask makes it instead of setting exactly mode
 * with fchmod(2) (a private file is 0600 under any umask: aim-audit(1)
 * "Entries", aim-secret(1) FILES).  On failure *fail (when not NULL) says
 * which step failed, for the message, and the temporary file's name.
 */
#define AIM_WRITE_NOSYNC	0x1
#define AIM_WRITE_UMASK		0x2
struct aim_write_fail {
	enum aim_write_step {
		AIM_WRITE_CREATE,	/* open(2): "can't create" */
		AIM_WRITE_DATA,		/* write, fchmod, fsync, close */
		AIM_WRITE_RENAME	/* rename(2): "can't replace" */
	} step;
	char	 tmp[PATH_MAX + 32];	/* path.tmp-<pid>; "" for a new file */
};

/*
 * Create path, which must not exist (O_EXCL: never through a symlink),
 * with n_bytes of buf, mode and flags as above.  0, or -1 with errno
 * (EEXIST: there already) and no file left behind but one that was there.
 */
int	 aim_write_file_new(const char *path, const void *buf, size_t n_bytes,
	    mode_t mode, int flags, struct aim_write_fail *fail);

/*
 * Replace path atomically with n_bytes of buf: written to path.tmp-<pid>,
 * mode set, fsync'ed, renamed over path, the directory fsync'ed (best
 * effort: the rename is done), the last two unless AIM_WRITE_NOSYNC.  A
 * reader sees the old content or the new, never a part.  0, or -1 with
 * errno; the temporary file is gone and path untouched.
 */
int	 aim_write_atomic(const char *path, const void *buf, size_t n_bytes,
	    mode_t mode, int flags, struct aim_write_fail *fail);

/*
 * A file of aim's under an XDG base directory: $<xdg_var>/aim/<name> when
 * that variable holds an absolute path, else $HOME/<home_dir>/aim/<name>
 * (home_dir ".config", ".local/state", ".local/share").  Malloc'd, or NULL
 * when neither is set.  Source: XDG Base Directory Specification 0.8.
 */
char	*aim_xdg_path(const char *xdg_var, const char *home_dir,
	    const char *name);

/*
 * fsync(2) a directory, so that the names just made in it are durable
 * (rename, link, creat: POSIX leaves them to the directory's sync).
 * Returns 0, or -1 with errno from open(2) or fsync(2).
 */
int	 aim_fsync_dir(const char *dir);

/*
 * The "#!" line of the file at path, without the "#!" and the newline
 * (a CR before it is kept: execve(2) looks for an interpreter named with
 * it, aim-adapter(7) DESCRIPTION), malloc'd; from the first 255 bytes.
 * NULL when the file cannot be read (errno from open(2) or read(2)) or
 * does not start with "#!".
 */
char	*aim_shebang(const char *path);

/*
 * A duration of ms milliseconds for a message, into buf of n bytes (32
 * are enough): "250 ms" below a second, "1.5 s" to a tenth below 10 s,
 * then rounded to the second: "30 s", "5 min", "1 min 30 s", "2 h 5 min"
 * (aim-invoke(1) DIAGNOSTICS).  A negative ms is 0.
 */
void	 aim_duration(char *buf, size_t n, int64_t ms);

/* Make an absolute, malloc'd path of p (relative to base, or to the cwd). */
char	*aim_abspath(const char *p, const char *base);

/*
 * Copy at most max_bytes of buf into a JSON string, replacing invalid UTF-8
 * and a code point cut at the end with U+FFFD, so jansson accepts it.
 * from_end takes the last bytes (a tail) instead of the first.  New ref.
 */
json_t	*aim_json_text(const char *buf, size_t len, size_t max_bytes, int from_end);

/*
 * Print message (malloc'd; freed here, may be NULL) with warnx(3) unless
 * it is a key of said already (a JSON object used as a set), then add it:
 * a problem that repeats for every record is said once per process.
 */
void	 aim_warn_once(json_t *said, char *message);

/* "<stdin>" for "-", else the name itself: how messages name an input. */
const char *aim_input_name(const char *path);

/*
 * A malloc'd string formatted as printf(3) would; exits with "out of
 * memory" (status AIM_EXIT_IO) instead of failing, like aim_xmalloc.
 */
char	*aim_xsprintf(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* aim_xsprintf with a va_list, for the "why" setters of other modules. */
char	*aim_vxsprintf(const char *fmt, va_list ap)
	    __attribute__((format(printf, 1, 0)));

/*
 * Create dir and its parents, mode 0700 for what it creates, each new
 * name made durable in its parent (aim_fsync_dir).  0, or -1 with errno
 * (ENOTDIR when dir is there but not a directory).
 */
int	 aim_mkdirs(const char *dir);

/*
 * aim_mkdirs of the directory holding the file path (nothing to do when
 * path has no '/' but a leading one).  0, or -1 with errno and, when dir
 * is not NULL, that directory in *dir (malloc'd) for the message: "can't
 * create DIR: reason".
 */
int	 aim_mkdirs_parent(const char *path, char **dir);

/*
 * The names in the open directory d (read from where it stands; "." and
 * ".." left out), those keep accepts when keep is not NULL, sorted by
 * strcmp: a walk in this order gives the same answer on every file
 * system, whatever order readdir(3) has.  A NULL-terminated, malloc'd
 * vector (aim_strv_free); NULL with errno when readdir fails.  d stays
 * open.  Used by the audit chain's day directories (aim-audit(1) "Audit
 * directory") and by aim-scan(1) "clean".
 */
char	**aim_dir_sorted(DIR *d, int (*keep)(const char *name));

/*
 * Free a NULL-terminated vector of malloc'd strings (NULL is fine), each
 * string wiped first: an environment vector may carry secrets
 * (aim-secret(1) SECURITY CONSIDERATIONS).
 */
void	 aim_strv_free(char **v);

/* qsort(3) order of an array of strings: strcmp of what each points to. */
int	 aim_strcmp_p(const void *a, const void *b);

/*
 * Is path a private regular file: not a symlink, owned by the effective
 * user, no group or other bits (aim-secret(1) FILES)?  0, or -1 with a
 * malloc'd *why saying which and how to fix it ("chmod 600 X") and errno:
 * ENOENT (missing), EPERM (not private), else lstat(2)'s.  what: "vault",
 * "key file".
 */
int	 aim_private_file(const char *path, const char *what, char **why);

/*
 * No core dumps and no ptrace by others: PR_SET_DUMPABLE 0, RLIMIT_CORE 0
 * (aim-secret(1) SECURITY CONSIDERATIONS).  0, or -1 with errno.  In an
 * AddressSanitizer build RLIMIT_CORE only: LeakSanitizer's check at exit
 * ptraces the process from a thread of its own, which a process that is
 * not dumpable refuses without CAP_SYS_PTRACE, and the check then hung
 * now and again, spinning until killed.
 */
int	 aim_nodump(void);

/* The digest of aim_hash (BLAKE2b-256) in bytes, and in hex digits. */
#define AIM_HASH_BYTES		32
#define AIM_HASH_HEX_BYTES	(2 * AIM_HASH_BYTES)

/*
 * BLAKE2b-256 (libsodium crypto_generichash, no key) of len_bytes bytes:
 * the audit chain's link hash (aim-audit(1) "The chain") and the state's
 * key of a registry; aim_hash_fd streams the same digest over a file.
 */
void	 aim_hash(const void *buf, size_t len_bytes,
	    unsigned char out[AIM_HASH_BYTES]);

/* Lowercase hex of len bytes into out (2 * len + 1 bytes). */
void	 aim_hex(const unsigned char *bin, size_t len_bytes, char *out);

/* Exactly 2 * len hex digits into len bytes: 0, or -1 when not that. */
int	 aim_unhex(const char *hex, unsigned char *bin, size_t len_bytes);

/* "SIGSEGV" for 11, or "SIG<n>"; in a static buffer. */
const char *aim_signame(int sig);

/*
 * SIGINT, SIGTERM and SIGHUP caught and made a byte on a pipe (the
 * self-pipe trick), for a poll loop that stops cleanly on them
 * (aim-invoke(1) SIGNALS): returns the pipe's read end (non-blocking,
 * close-on-exec) to poll, or -1 with errno.  Once per process.
 * aim_signal_taken empties the pipe and returns the last signal caught,
 * 0 when none.
 */
int	 aim_signals_catch(void);
int	 aim_signal_taken(int fd);

/* ---- cli.c: the subcommand convention (aim(7) COMMAND LINES) ---- */

struct option;

/*
 * One command of a program that has several (aim-audit, aim-scan,
 * aim-secret): its name, its own getopt letters and long options (the
 * global ones are the program's), its synopsis (after "usage: PROG" and
 * the global options) and its options' help, one "  -x ..." line each.
 * A table of them ends with a NULL name.
 */
struct aim_subcmd {
	const char *name;
	const char *shorts;
	const struct option *longs;
	const char *synopsis;
	const char *help;
};

/* The command of cmds called name (borrowed), or NULL. */
const struct aim_subcmd *aim_subcmd_find(const struct aim_subcmd *cmds,
    const char *name);

/*
 * PROG COMMAND --help on stdout: "usage: PROG GLOBALS SYNOPSIS", the
 * command's options, the global options (global_help), "See PROG(1).";
 * exit 0.  globals_synopsis may be "" when the synopsis carries them.
 */
void aim_subcmd_help(const char *progname, const char *globals_synopsis,
    const struct aim_subcmd *sub, const char *global_help)
    __attribute__((noreturn));

/*
 * getopt_long (opterr 0, optstring starting with ':') returned ch, '?' or
 * ':', for argv, while parsing the options of command cur (NULL: the
 * global options before any command).  An option of another command of
 * cmds exits 2 naming where it goes ("PROG: -W is an option of health:
 * PROG health -W"); anything else gets getopt's own words on stderr and
 * returns, for the caller to print its usage and exit 2.
 */
void aim_subcmd_bad_option(const char *progname,
    const struct aim_subcmd *cmds, const struct aim_subcmd *cur,
    char *argv[], int ch);

/*
 * The directory of the running program, as /proc/self/exe names it, so
 * that a build or an install finds its own siblings and data (aim(1)
 * DESCRIPTION, aim-init(1) --from).  Malloc'd, or NULL when /proc is not
 * there.
 */
char	*aim_self_dir(void);

#endif /* AIM_UTIL_H */
