// Kubernetes mode's pure parts: kubeconfig reading, the annotation, and
// schema 0006 (which rebuilds the leases table) keeping every row that refers to a lease.
#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>

#include "kube_config.h"
#include "kube_identity.h"
#include "lease_store.h"
#include "store_test_support.h"

using namespace vmip;
using namespace vmip::testing;

namespace {

std::string Kubeconfig(const std::string& cluster, const std::string& user) {
  return "apiVersion: v1\nkind: Config\ncurrent-context: c2\n"
         "contexts:\n- name: c1\n  context: {cluster: other, user: other}\n"
         "- name: c2\n  context: {cluster: k, user: u}\n"
         "clusters:\n- name: other\n  cluster: {server: 'https://wrong:1'}\n"
         "- name: k\n  cluster:\n    server: https://127.0.0.1:6443/\n" +
         cluster + "users:\n- name: u\n  user:\n" + user;
}

}  // namespace

TEST_CASE("kubeconfig: current context, CA data, inline token") {
  Dir d;
  // "LS0tCg==" is base64 for "---\n".
  auto c = LoadKubeconfig(
      d.Write("kc", Kubeconfig("    certificate-authority-data: LS0tCg==\n", "    token: abc\n")));
  REQUIRE(c.ok());
  CHECK(c.value().server == "https://127.0.0.1:6443");
  CHECK(c.value().ca_pem == "---\n");
  CHECK(c.value().token == "abc");
}

TEST_CASE("kubeconfig: CA file and token file relative to the kubeconfig") {
  Dir d;
  d.Write("ca.crt", "PEM");
  auto c = LoadKubeconfig(
      d.Write("kc", Kubeconfig("    certificate-authority: ca.crt\n", "    tokenFile: tok\n")));
  REQUIRE(c.ok());
  CHECK(c.value().ca_pem == "PEM");
  CHECK(c.value().token_file == d.path + "/tok");
}

TEST_CASE("kubeconfig: refusals name the problem") {
  Dir d;
  auto none = LoadKubeconfig(d.Write("a", Kubeconfig("", "    username: x\n")));
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == kInvalidConfig);
  CHECK(none.error().msg.find("no token") != std::string::npos);
  auto half = LoadKubeconfig(d.Write("b", Kubeconfig("", "    client-certificate-data: eA==\n")));
  REQUIRE_FALSE(half.ok());
  CHECK(half.error().msg.find("together") != std::string::npos);
  auto http = LoadKubeconfig(
      d.Write("c",
              "current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\n"
              "clusters: [{name: k, cluster: {server: 'http://h:1'}}]\n"
              "users: [{name: u, user: {token: t}}]\n"));
  REQUIRE_FALSE(http.ok());
  CHECK(http.error().msg.find("https") != std::string::npos);
  auto bad = LoadKubeconfig(d.Write("d", "current-context: [\n"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == kInvalidConfig);
}

TEST_CASE("in-cluster config needs the service host and reads token and CA") {
  Dir d;
  unsetenv("KUBERNETES_SERVICE_HOST");
  CHECK_FALSE(InClusterConfig(d.path).ok());
  setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  CHECK_FALSE(InClusterConfig(d.path).ok());  // no token, no CA
  d.Write("ca.crt", "PEM");
  d.Write("token", "t\n");
  auto c = InClusterConfig(d.path);
  REQUIRE(c.ok());
  CHECK(c.value().server == "https://[fd00::1]:443");
  CHECK(c.value().token_file == d.path + "/token");
  unsetenv("KUBERNETES_SERVICE_HOST");
  unsetenv("KUBERNETES_SERVICE_PORT");
}

TEST_CASE("vmip.io/ip.<network> annotation: comma list, this network only") {
  Json pod = Json::parse(R"({"metadata": {"annotations": {
      "vmip.io/ip.net1": " 10.0.0.5 , fd00::5", "vmip.io/ip.net2": "10.1.0.5"}}})");
  CHECK(AnnotatedIps(pod, "net1") == std::vector<std::string>{"10.0.0.5", "fd00::5"});
  CHECK(AnnotatedIps(pod, "net2") == std::vector<std::string>{"10.1.0.5"});
  CHECK(AnnotatedIps(pod, "net3").empty());
  CHECK(AnnotatedIps(Json::parse(R"({"metadata": {}})"), "net1").empty());
}

TEST_CASE("schema 0006 rebuilds leases without losing addresses or attachments") {
  Dir d;
  std::string db = d.path + "/l.db";
  {
    auto store = LeaseStore::Open(db);
    REQUIRE(store.ok());
    LeaseStore& s = *store.value();
    REQUIRE(s.Begin().code == 0);
    LeaseRow l{0, "n", OwnerKind::kVm, "ns/vm", "uid-1", "eth0", 1, "", {}, 0, "", "kubernetes"};
    auto id = s.InsertLease(l);
    REQUIRE(id.ok());
    REQUIRE(s.InsertAddress(id.value(), "n", AddressRow{0, "10.0.0.2"}).code == 0);
    REQUIRE(s.InsertAttachment(AttachmentRow{"n", "c1", "eth0", "/ns", "node", id.value(), 1, ""})
                .code == 0);
    REQUIRE(s.Commit().code == 0);
  }
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  REQUIRE(sqlite3_exec(h, "PRAGMA user_version=5", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(h);
  auto store = LeaseStore::Open(db);  // runs 0006 again over the rows
  REQUIRE(store.ok());
  CHECK(store.value()->schema_version() == 7);
  auto leases = store.value()->ListLeases("");
  REQUIRE(leases.ok());
  REQUIRE(leases.value().size() == 1);
  CHECK(leases.value()[0].owner_uid == "uid-1");
  CHECK(leases.value()[0].addresses.size() == 1);
  CHECK(store.value()->Count("attachments").value() == 1);
  LeaseRow sts{0,  "n",         OwnerKind::kStatefulSetPod, "ns/web-0", "u", "eth0", 1, "", {}, 0,
               "", "kubernetes"};
  REQUIRE(store.value()->Begin().code == 0);
  CHECK(store.value()->InsertLease(sts).ok());  // the widened CHECK takes 'sts'
  store.value()->Rollback();
}
