// A deliberately small HTTP/1.1 server: GET (and HEAD) of three fixed paths, one request
// per connection (Connection: close), requests capped at 8 KiB and 2 s. Debian ships
// cpp-httplib and civetweb only as shared libraries, and the FROM scratch image links
// the daemon statically, so the endpoint cannot use them; what it needs is this much.
#include "metrics_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "exposition.h"

namespace vmip::metrics {
namespace {

constexpr size_t kMaxRequest = 8192;
constexpr int kIoMillis = 2000;  // per request, reading and writing each
constexpr int kWorkers = 2;      // a slow client never holds up a probe alone

struct Reply {
  int status = 200;
  std::string type = "text/plain; charset=utf-8";
  std::string body;
  std::string allow;  // for 405
};

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
  }
  return "Error";
}

int MillisLeft(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Reads up to the blank line that ends the headers. 0 when read, else the status
// to answer (408 slow, 431 too long, -1 the peer went away).
int ReadHead(int fd, std::string* head) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kIoMillis);
  char buf[2048];
  while (head->find("\r\n\r\n") == std::string::npos) {
    if (head->size() > kMaxRequest) return 431;
    pollfd p{fd, POLLIN, 0};
    int left = MillisLeft(deadline);
    if (left == 0 || poll(&p, 1, left) <= 0) return 408;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return -1;
    head->append(buf, static_cast<size_t>(n));
  }
  return head->size() > kMaxRequest ? 431 : 0;
}

void WriteAll(int fd, const std::string& data) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kIoMillis);
  size_t done = 0;
  while (done < data.size()) {
    pollfd p{fd, POLLOUT, 0};
    int left = MillisLeft(deadline);
    if (left == 0 || poll(&p, 1, left) <= 0) return;
    ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// Closing with unread bytes (an oversized request) makes the kernel send RST, which
// can destroy the answer in flight: read what is left first, for a short while.
void Drain(int fd) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  char buf[4096];
  for (int i = 0; i < 64; i++) {
    pollfd p{fd, POLLIN, 0};
    int left = MillisLeft(deadline);
    if (left == 0 || poll(&p, 1, left) <= 0 || recv(fd, buf, sizeof buf, 0) <= 0) return;
  }
}

}  // namespace

struct MetricsServer::Impl {
  int listen_fd = -1;
  int wake[2] = {-1, -1};  // written once to stop the workers' poll
  const Registry* registry = nullptr;
  Readiness readiness;
  std::vector<std::thread> workers;

  Reply Route(const std::string& method, const std::string& path) const;
  void Serve(int fd) const;
  void Loop() const;
};

Reply MetricsServer::Impl::Route(const std::string& method, const std::string& path) const {
  Reply r;
  if (method != "GET" && method != "HEAD") {
    r.status = 405;
    r.allow = "GET, HEAD";
    r.body = "only GET\n";
  } else if (path == "/metrics") {
    r.type = kExpositionContentType;
    r.body = RenderText(registry->Collect());
  } else if (path == "/healthz") {
    r.body = "ok\n";
  } else if (path == "/readyz") {
    std::string reason = readiness();
    r.status = reason.empty() ? 200 : 503;
    r.body = reason.empty() ? "ready\n" : reason + "\n";
  } else {
    r.status = 404;
    r.body = "not found; try /metrics, /healthz or /readyz\n";
  }
  return r;
}

void MetricsServer::Impl::Serve(int fd) const {
  std::string head, method, path;
  int status = ReadHead(fd, &head);
  if (status < 0) return;
  Reply r;
  if (status == 0) {
    // Request line: METHOD SP TARGET SP HTTP/x.y; the query string is ignored.
    std::string line = head.substr(0, head.find("\r\n"));
    size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    if (sp1 == std::string::npos || sp2 <= sp1 || line.compare(sp2 + 1, 5, "HTTP/") != 0) {
      status = 400;
    } else {
      method = line.substr(0, sp1);
      path = line.substr(sp1 + 1, sp2 - sp1 - 1);
      path = path.substr(0, path.find('?'));
      r = Route(method, path);
    }
  }
  if (status) {
    r = Reply{};
    r.status = status;
    r.body = std::string(Reason(status)) + "\n";
  }
  std::string out =
      "HTTP/1.1 " + std::to_string(r.status) + " " + Reason(r.status) +
      "\r\nContent-Type: " + r.type + "\r\nContent-Length: " + std::to_string(r.body.size()) +
      (r.allow.empty() ? "" : "\r\nAllow: " + r.allow) + "\r\nConnection: close\r\n\r\n";
  if (method != "HEAD") out += r.body;
  WriteAll(fd, out);
}

// Each worker waits for a connection or the stop signal; the listening socket is
// non-blocking, so two workers woken for one connection do not both block in accept.
void MetricsServer::Impl::Loop() const {
  for (;;) {
    pollfd p[2] = {{listen_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0 && errno != EINTR) return;
    if (p[1].revents) return;
    if (!(p[0].revents & POLLIN)) continue;
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    Serve(fd);
    shutdown(fd, SHUT_WR);
    Drain(fd);
    close(fd);
  }
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() {
  if (impl_->wake[1] >= 0) (void)!write(impl_->wake[1], "x", 1);
  for (std::thread& t : impl_->workers) t.join();
  for (int fd : {impl_->listen_fd, impl_->wake[0], impl_->wake[1]})
    if (fd >= 0) close(fd);
}

namespace {

// A bound, listening, non-blocking socket for at (port 0: any free port), or -1
// with *why set.
int Listen(const HostPort& at, int* port, std::string* why) {
  addrinfo hints{}, *found = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int rc = getaddrinfo(at.host.c_str(), std::to_string(at.port).c_str(), &hints, &found);
  if (rc != 0) {
    *why = gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    int one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd >= 0 && (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 64) != 0)) {
      *why = strerror(errno);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (fd >= 0 && getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) == 0)
    *port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const HostPort& at,
                                                            const Registry* registry,
                                                            Readiness readiness) {
  auto impl = std::make_unique<Impl>();
  impl->registry = registry;
  impl->readiness = std::move(readiness);
  int port = 0;
  std::string why;
  impl->listen_fd = Listen(at, &port, &why);
  if (impl->listen_fd < 0)
    return MakeError(kInvalidConfig, "cannot listen on --metrics-address " + at.host + ":" +
                                         std::to_string(at.port) + ": " + why);
  if (pipe2(impl->wake, O_CLOEXEC) != 0)
    return MakeError(kInternal, std::string("metrics endpoint: pipe: ") + strerror(errno));
  std::unique_ptr<MetricsServer> server(new MetricsServer(std::move(impl)));
  server->port_ = port;
  const Impl* raw = server->impl_.get();
  for (int i = 0; i < kWorkers; i++) server->impl_->workers.emplace_back([raw] { raw->Loop(); });
  return server;
}

}  // namespace vmip::metrics
