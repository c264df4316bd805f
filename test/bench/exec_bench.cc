// exec_bench: runs a CNI plugin binary the way a container runtime does (fresh process
// per call, env + stdin JSON, stdout read to EOF, exit status checked) and prints the
// per-call latency distribution as one JSON object on stdout.
//
//   exec_bench run --plugin BIN --config FILE --mode add-del|add|del|version
//                  [--iterations N] [--concurrency C] [--id-prefix P] [--env K=V]...
//   exec_bench wait-socket --socket PATH --since-ns T [--timeout-s S]
//
// add-del: each iteration ADDs a unique container ID, then DELs it (ADD and DEL latencies
// are reported separately). add: the ADDs alone (the leases stay). del: DEL of IDs that
// hold nothing (exec + connect + RPC, no write). version: VERSION only (the exec floor).
// wait-socket: polls a unix socket until it accepts and prints the milliseconds since T
// (CLOCK_REALTIME ns), for daemon start time.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

constexpr long kMaxIterations = 1000000;  // keeps every run bounded
constexpr int kMaxConcurrency = 256;

struct Options {
  std::string plugin, config_path, mode = "add-del", id_prefix = "bench";
  std::string vm_prefix;  // set: iteration i is VM <vm_prefix>-i (VMIP_VM), not a pod
  long iterations = 100;
  int concurrency = 1;
  std::vector<std::string> env;  // extra K=V, e.g. CNI_PATH for host-local
};

struct CallResult {
  double ms = 0;
  bool ok = false;
};

[[noreturn]] void Die(const std::string& msg) {
  fprintf(stderr, "exec_bench: %s\n", msg.c_str());
  exit(2);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes all of data, then closes fd so the child sees EOF on stdin.
void WriteAllAndClose(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the child may exit without reading (e.g. a config error)
    off += static_cast<size_t>(n);
  }
  close(fd);
}

std::string ReadAllAndClose(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

// One plugin call. Pipes are O_CLOEXEC so concurrent workers never leak each other's
// pipe ends into their children (a leaked write end would delay EOF).
CallResult RunOnce(const Options& o, const std::string& stdin_data,
                   const std::vector<std::string>& env, std::string* output) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) Die("pipe2 failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>(o.plugin.c_str()), nullptr};
  // We ignore SIGPIPE (a plugin may exit before reading stdin); the child gets the default.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &pipe_only);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);

  auto t0 = std::chrono::steady_clock::now();
  pid_t pid;
  int rc = posix_spawn(&pid, o.plugin.c_str(), &fa, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(in[0]);
  close(out[1]);
  if (rc != 0) Die("cannot spawn " + o.plugin + ": " + strerror(rc));
  WriteAllAndClose(in[1], stdin_data);
  *output = ReadAllAndClose(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  auto t1 = std::chrono::steady_clock::now();
  return {std::chrono::duration<double, std::milli>(t1 - t0).count(),
          WIFEXITED(status) && WEXITSTATUS(status) == 0};
}

std::vector<std::string> CniEnv(const Options& o, const std::string& command,
                                const std::string& id) {
  std::vector<std::string> env = {
      "CNI_COMMAND=" + command,
      "CNI_CONTAINERID=" + id,
      "CNI_NETNS=/var/run/netns/" + id,
      "CNI_IFNAME=eth0",
      "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-" + id +
          (o.vm_prefix.empty() ? "" : ";VMIP_VM=" + o.vm_prefix + id.substr(id.rfind('-'))),
      "PATH=/usr/bin:/bin"};
  env.insert(env.end(), o.env.begin(), o.env.end());
  return env;
}

// Collects results from all workers; keeps the first failure's output for diagnosis.
struct Recorder {
  std::mutex mu;
  std::vector<double> add, del, version;
  long errors = 0;
  std::string first_error;

  void Record(std::vector<double>& into, const CallResult& r, const std::string& what,
              const std::string& output) {
    std::lock_guard<std::mutex> lock(mu);
    into.push_back(r.ms);
    if (r.ok) return;
    if (errors++ == 0) first_error = what + ": " + output;
  }
};

void RunIteration(const Options& o, const std::string& config, long i, Recorder& rec) {
  std::string id = o.id_prefix + "-" + std::to_string(i), out;
  if (o.mode == "version") {
    rec.Record(rec.version, RunOnce(o, config, CniEnv(o, "VERSION", id), &out), "VERSION", out);
    return;
  }
  if (o.mode == "add-del" || o.mode == "add")
    rec.Record(rec.add, RunOnce(o, config, CniEnv(o, "ADD", id), &out), "ADD " + id, out);
  if (o.mode == "add") return;  // the leases stay: throughput of ADDs alone
  rec.Record(rec.del, RunOnce(o, config, CniEnv(o, "DEL", id), &out), "DEL " + id, out);
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t idx = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

std::string Stats(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  char buf[200];
  snprintf(buf, sizeof buf, "{\"n\":%zu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"mean_ms\":%.3f}",
           v.size(), Percentile(v, 0.50), Percentile(v, 0.99), v.empty() ? 0 : sum / v.size());
  return buf;
}

int Run(const Options& o) {
  std::string config = ReadFile(o.config_path);
  Recorder rec;
  std::atomic<long> next{0};
  auto worker = [&] {
    for (long i; (i = next.fetch_add(1)) < o.iterations;) RunIteration(o, config, i, rec);
  };
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < o.concurrency; w++) workers.emplace_back(worker);
  for (auto& t : workers) t.join();
  double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::vector<double> all = rec.add;
  all.insert(all.end(), rec.del.begin(), rec.del.end());
  all.insert(all.end(), rec.version.begin(), rec.version.end());
  std::string head = Stats(all);
  head.pop_back();  // reopen the object to append the rest
  printf(
      "%s,\"mode\":\"%s\",\"concurrency\":%d,\"wall_s\":%.3f,\"ops_per_s\":%.1f,"
      "\"iterations_per_s\":%.1f,\"errors\":%ld,\"add\":%s,\"del\":%s}\n",
      head.c_str(), o.mode.c_str(), o.concurrency, wall_s, all.size() / wall_s,
      o.iterations / wall_s, rec.errors, Stats(rec.add).c_str(), Stats(rec.del).c_str());
  if (rec.errors) fprintf(stderr, "exec_bench: first error: %s\n", rec.first_error.c_str());
  return 0;
}

bool SocketAccepts(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

int64_t RealtimeNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// The start time is measured from a timestamp the caller took just before starting the
// daemon, so the poller's own start-up is not hidden from the figure.
int WaitSocket(const std::string& path, int64_t since_ns, double timeout_s) {
  while (!SocketAccepts(path)) {
    if ((RealtimeNs() - since_ns) / 1e9 > timeout_s) Die("socket " + path + " never accepted");
    usleep(500);
  }
  printf("{\"ready_ms\":%.1f}\n", (RealtimeNs() - since_ns) / 1e6);
  return 0;
}

long ParseLong(const char* s, long lo, long hi, const char* what) {
  char* end = nullptr;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < lo || v > hi)
    Die(std::string(what) + " must be in " + std::to_string(lo) + ".." + std::to_string(hi));
  return v;
}

int Usage() {
  fprintf(stderr,
          "usage: exec_bench run --plugin BIN --config FILE [--mode add-del|add|del|version]\n"
          "                      [--iterations N] [--concurrency C] [--id-prefix P] "
          "[--vm-prefix V] [--env K=V]...\n"
          "       exec_bench wait-socket --socket PATH --since-ns T [--timeout-s S]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  signal(SIGPIPE, SIG_IGN);
  std::string cmd = argv[1], socket_path;
  Options o;
  int64_t since_ns = 0;
  long timeout_s = 60;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--plugin")
      o.plugin = v;
    else if (k == "--config")
      o.config_path = v;
    else if (k == "--mode")
      o.mode = v;
    else if (k == "--id-prefix")
      o.id_prefix = v;
    else if (k == "--vm-prefix")
      o.vm_prefix = v;
    else if (k == "--env")
      o.env.push_back(v);
    else if (k == "--iterations")
      o.iterations = ParseLong(v, 1, kMaxIterations, "--iterations");
    else if (k == "--concurrency")
      o.concurrency = static_cast<int>(ParseLong(v, 1, kMaxConcurrency, "--concurrency"));
    else if (k == "--socket")
      socket_path = v;
    else if (k == "--since-ns")
      since_ns = strtoll(v, nullptr, 10);
    else if (k == "--timeout-s")
      timeout_s = ParseLong(v, 1, 3600, "--timeout-s");
    else
      return Usage();
  }
  if (cmd == "wait-socket" && !socket_path.empty() && since_ns > 0)
    return WaitSocket(socket_path, since_ns, static_cast<double>(timeout_s));
  bool mode_ok = o.mode == "add-del" || o.mode == "add" || o.mode == "del" || o.mode == "version";
  if (cmd != "run" || o.plugin.empty() || o.config_path.empty() || !mode_ok) return Usage();
  return Run(o);
}
