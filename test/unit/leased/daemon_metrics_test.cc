// The daemon's metric families fed by a real LeaseService on a SQLite file: release
// reasons through the core's observer seam, pool gauges read at scrape time, and the
// HTTP endpoint serving them.
#include "daemon_metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "daemon_endpoint.h"
#include "lease_service.h"

using namespace vmip;

namespace {

struct Daemon {
  std::string dir;
  std::unique_ptr<LeaseStore> store;
  std::unique_ptr<LeaseService> svc;
  DaemonMetrics metrics;

  Daemon() {
    char tmpl[] = "/tmp/vmip-metrics-XXXXXX";
    dir = mkdtemp(tmpl);
    store = std::move(LeaseStore::Open(dir + "/leases.db").value());
    svc = std::make_unique<LeaseService>(store.get(), "node-a", [] { return int64_t{1000}; });
    REQUIRE(svc->Load().code == 0);
    svc->SetReleaseObserver(&metrics);
    metrics.WatchPools(svc.get());
    metrics.WatchSpool(dir);
  }
  ~Daemon() {
    svc.reset();
    store.reset();
    std::system(("rm -rf " + dir).c_str());
  }
  v1::Caller Caller(const std::string& cid, const std::string& pod) {
    v1::Caller c;
    c.set_network("net1");
    c.set_container_id(cid);
    c.set_ifname("eth0");
    c.set_netns("/run/netns/" + cid);
    c.set_pod_namespace("default");
    c.set_pod_name(pod);
    return c;
  }
  void Add(const std::string& cid, const std::string& pod) {
    v1::AddRequest r;
    *r.mutable_caller() = Caller(cid, pod);
    r.mutable_pool()->add_range_sets()->add_ranges()->set_subnet("10.9.0.0/28");
    REQUIRE(svc->Add(r).error().code() == 0);
  }
  void Del(const std::string& cid) {
    v1::DelRequest r;
    *r.mutable_caller() = Caller(cid, "");
    REQUIRE(svc->Del(r).error().code() == 0);
  }
  // The value of one series, or -1 when the scrape does not have it.
  double Value(const std::string& name, const std::string& labels) {
    for (const auto& f : metrics.registry().Collect())
      for (const auto& s : f.samples) {
        std::string text;
        for (const auto& [k, v] : s.labels) text += (text.empty() ? "" : ",") + k + "=" + v;
        if (s.name == name && text == labels) return s.value;
      }
    return -1;
  }
};

}  // namespace

TEST_CASE("releases are counted by reason, detaching a VM is not a release") {
  Daemon d;
  d.Add("p1", "web-1");
  d.Add("v1", "virt-launcher-vm1-abcde");
  d.Del("p1");
  d.Del("v1");
  CHECK(d.Value("vmip_leases_released_total", "network=net1,reason=pod_deleted") == 1);
  d.Add("p2", "web-2");
  v1::GcRequest gc;
  gc.set_network("net1");
  REQUIRE(d.svc->Gc(gc).error().code() == 0);
  CHECK(d.Value("vmip_leases_released_total", "network=net1,reason=gc") == 1);
  v1::ReleaseRequest rel;
  rel.set_vm("default/vm1");
  REQUIRE(d.svc->Release(rel).error().code() == 0);
  CHECK(d.Value("vmip_leases_released_total", "network=net1,reason=by_hand") == 1);
  CHECK(d.Value("vmip_leases_released_total", "network=net1,reason=pod_deleted") == 1);
}

TEST_CASE("pool gauges show size, allocation by state and free at scrape time") {
  Daemon d;
  d.Add("p1", "web-1");
  d.Add("v1", "virt-launcher-vm1-abcde");
  d.Add("v2", "virt-launcher-vm2-abcde");
  d.Del("v2");
  v1::PoolInfo pool = d.svc->ListPools().pools(0);
  CHECK(d.Value("vmip_pool_addresses", "network=net1") == double(pool.size()));
  CHECK(d.Value("vmip_pool_addresses_allocated", "network=net1,state=attached") == 2);
  CHECK(d.Value("vmip_pool_addresses_allocated", "network=net1,state=detached") == 1);
  CHECK(d.Value("vmip_pool_addresses_allocated", "network=net1,state=reserved") == 0);
  CHECK(d.Value("vmip_pool_addresses_free", "network=net1") == double(pool.size() - 3));
  // The spool gauge counts the plugin's *.pb records in the spool directory.
  std::ofstream(d.dir + "/del-1.pb") << "x";
  std::ofstream(d.dir + "/del-2.pb.bad") << "x";
  CHECK(d.Value("vmip_spool_pending", "") == 1);
}

namespace {

// One request on a fresh connection, as written; the whole answer (the server closes).
std::string Http(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, size_t(n));
  }
  close(fd);
  return out;
}

std::string Get(int port, const std::string& path) {
  return Http(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n");
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("the endpoint serves /metrics, /healthz and /readyz") {
  Daemon d;
  d.Add("p1", "web-1");
  d.metrics.RecordCni(DaemonMetrics::Command::kAdd, 0, 0.002);
  d.metrics.RecordCni(DaemonMetrics::Command::kAdd, 7, 0.0001);
  auto server = StartMetricsEndpoint({"127.0.0.1", 0}, d.metrics, d.svc.get());
  REQUIRE(server.ok());
  int port = server.value()->port();
  CHECK(Get(port, "/healthz") ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n"
        "Connection: close\r\n\r\nok\n");
  CHECK(Has(Get(port, "/readyz"), "HTTP/1.1 200 OK\r\n"));
  std::string scrape = Get(port, "/metrics?x=1");
  CHECK(Has(scrape, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4"));
  std::string body = scrape.substr(scrape.find("\r\n\r\n") + 4);
  CHECK(Has(scrape, "Content-Length: " + std::to_string(body.size()) + "\r\n"));
  CHECK(Has(body, "vmip_cni_requests_total{command=\"ADD\",result=\"ok\"} 1\n"));
  CHECK(Has(body, "vmip_cni_requests_total{command=\"ADD\",result=\"7\"} 1\n"));
  CHECK(Has(body, "vmip_cni_request_duration_seconds_bucket{command=\"ADD\",le=\"0.00025\"} 1\n"));
  CHECK(Has(body, "vmip_cni_request_duration_seconds_count{command=\"ADD\"} 2\n"));
  CHECK(Has(body, "vmip_build_info{version=\"" VMIP_VERSION "\"} 1\n"));
  CHECK(Has(body, "vmip_pool_addresses_allocated{network=\"net1\",state=\"attached\"} 1\n"));
  CHECK(Has(body, "vmip_spool_pending 0\n"));
  CHECK(Has(body, "\nprocess_start_time_seconds "));
}

TEST_CASE("the endpoint refuses what it does not serve, and answers HEAD without a body") {
  Daemon d;
  auto server = StartMetricsEndpoint({"127.0.0.1", 0}, d.metrics, d.svc.get());
  REQUIRE(server.ok());
  int port = server.value()->port();
  CHECK(Has(Get(port, "/nothing"), "HTTP/1.1 404 Not Found\r\n"));
  std::string post = Http(port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  CHECK(Has(post, "HTTP/1.1 405 Method Not Allowed\r\n"));
  CHECK(Has(post, "Allow: GET, HEAD\r\n"));
  CHECK(Has(Http(port, "nonsense\r\n\r\n"), "HTTP/1.1 400 Bad Request\r\n"));
  CHECK(Has(Http(port, "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n"), "HTTP/1.1 431 "));
  std::string head = Http(port, "HEAD /healthz HTTP/1.1\r\n\r\n");
  CHECK(Has(head, "Content-Length: 3\r\n"));
  CHECK(head.substr(head.size() - 4) == "\r\n\r\n");
  // A half-sent request is dropped after 2 s; the other worker answers meanwhile.
  int slow = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(slow, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(send(slow, "GET /hea", 8, MSG_NOSIGNAL) == 8);
  CHECK(Has(Get(port, "/healthz"), "HTTP/1.1 200 OK\r\n"));
  close(slow);
}

TEST_CASE("a taken port is an error naming the flag") {
  Daemon d;
  auto first = StartMetricsEndpoint({"127.0.0.1", 0}, d.metrics, d.svc.get());
  REQUIRE(first.ok());
  auto second = StartMetricsEndpoint({"127.0.0.1", first.value()->port()}, d.metrics, d.svc.get());
  REQUIRE_FALSE(second.ok());
  CHECK(Has(second.error().msg, "cannot listen on --metrics-address 127.0.0.1:"));
  CHECK(Has(second.error().msg, "in use"));
}
