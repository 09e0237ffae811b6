#include "store/archive/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace apitrail::archive {

namespace {

using Clock = std::chrono::steady_clock;

// Appends to a buffer that keeps only its last `max` bytes, in amortised O(1) per byte.
void AppendBounded(std::string* tail, const char* data, size_t n, size_t max) {
  if (max == 0) return;
  if (n >= max) {
    tail->assign(data + n - max, max);
    return;
  }
  tail->append(data, n);
  if (tail->size() > 2 * max) tail->erase(0, tail->size() - max);
}

// Reads whatever is available now; false once the write ends are all closed.
bool Drain(int fd, std::string* tail, uint64_t* total, size_t max) {
  char buf[4096];
  for (int i = 0; i < 256; ++i) {  // bounded: a chatty command cannot starve the deadline
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      *total += static_cast<uint64_t>(n);
      AppendBounded(tail, buf, static_cast<size_t>(n), max);
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
  return true;
}

class SpawnAttributes {
 public:
  SpawnAttributes() {
    posix_spawnattr_init(&attr_);
    posix_spawn_file_actions_init(&actions_);
  }
  ~SpawnAttributes() {
    posix_spawnattr_destroy(&attr_);
    posix_spawn_file_actions_destroy(&actions_);
  }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;

  // Own process group (so a timeout kills the children too), empty signal mask and default
  // dispositions: the server blocks SIGTERM/SIGINT/SIGHUP and ignores SIGPIPE/SIGXFSZ, and
  // the command must not inherit that.
  int Configure(int out_fd) {
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int s : {SIGPIPE, SIGXFSZ, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&defaults, s);
    int rc = posix_spawnattr_setflags(
        &attr_, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (rc == 0) rc = posix_spawnattr_setpgroup(&attr_, 0);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attr_, &none);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr_, &defaults);
    if (rc == 0) rc = posix_spawn_file_actions_addopen(&actions_, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions_, out_fd, 1);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions_, out_fd, 2);
    // Sockets and data files of the server stay out of the command.
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions_, 3);
    return rc;
  }
  const posix_spawnattr_t* attr() const { return &attr_; }
  const posix_spawn_file_actions_t* actions() const { return &actions_; }

 private:
  posix_spawnattr_t attr_;
  posix_spawn_file_actions_t actions_;
};

void FillExit(int status, CommandResult* r) {
  if (WIFEXITED(status)) {
    r->exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r->exit_code = -1;
    r->term_signal = WTERMSIG(status);
  }
}

}  // namespace

std::string CommandResult::Describe() const {
  if (cancelled) return "cancelled (shutdown)";
  if (timed_out)
    return "timed out after " + std::to_string(elapsed.count()) + " ms (process group killed)";
  if (term_signal != 0) return "killed by signal " + std::to_string(term_signal);
  return "exit code " + std::to_string(exit_code);
}

Result<CommandResult> RunShellCommand(const std::string& command, std::chrono::milliseconds timeout,
                                      size_t max_output, const std::atomic<bool>* cancel) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Status::IoError(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  SpawnAttributes spawn;
  if (int rc = spawn.Configure(fds[1]); rc != 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return Status::IoError(std::string("cannot set up the command: ") + std::strerror(rc));
  }
  const auto start = Clock::now();
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/bin/sh", spawn.actions(), spawn.attr(), const_cast<char**>(argv),
                       environ);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return Status::IoError(std::string("cannot start /bin/sh: ") + std::strerror(rc));
  }
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);

  CommandResult r;
  const auto deadline = start + timeout;
  bool open = true;
  int status = 0;
  while (true) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
      // Exited, not yet reaped (so its process group cannot be another's yet): whatever it
      // left running in the background is killed. Its exit status says "archived", so work
      // still going on would be trusted unfinished, and nothing would bound its time.
      ::kill(-pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      // Take what is already in the pipe. A background child still holding the write end
      // must not keep us waiting, so no wait for EOF here.
      if (open) Drain(fds[0], &r.output_tail, &r.output_bytes, max_output);
      FillExit(status, &r);
      break;
    }
    const bool cancelled = cancel != nullptr && cancel->load(std::memory_order_relaxed);
    if (cancelled || Clock::now() >= deadline) {
      ::kill(-pid, SIGKILL);  // the whole group: the shell and whatever it started
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (open) Drain(fds[0], &r.output_tail, &r.output_bytes, max_output);
      FillExit(status, &r);
      (cancelled ? r.cancelled : r.timed_out) = true;
      break;
    }
    if (open) {
      pollfd p{fds[0], POLLIN, 0};
      ::poll(&p, 1, 20);
      if (p.revents != 0) open = Drain(fds[0], &r.output_tail, &r.output_bytes, max_output);
    } else {
      ::usleep(20 * 1000);  // output closed early; wait for the exit
    }
  }
  ::close(fds[0]);
  if (r.output_tail.size() > max_output) r.output_tail.erase(0, r.output_tail.size() - max_output);
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return r;
}

std::string OutputForLog(const std::string& output, size_t max) {
  std::string_view s(output);
  if (s.size() > max) s.remove_prefix(s.size() - max);
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += " | ";
    } else if (u < 0x20 || u >= 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  size_t b = out.find_first_not_of(" |");
  size_t e = out.find_last_not_of(" |");
  return b == std::string::npos ? "" : out.substr(b, e - b + 1);
}

}  // namespace apitrail::archive
