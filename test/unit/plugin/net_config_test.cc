#include "net_config.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

using namespace vmip::cni;

namespace {

const char* kMinimal = R"({"cniVersion":"1.1.0","name":"net1","type":"bridge",
  "ipam":{"type":"vmip","ranges":[[{"subnet":"10.1.0.0/16"}]]}})";

CniError Parse(const std::string& s, Command cmd, NetConfig* out) {
  return ParseNetConfig(s, cmd, out);
}

// Parses kMinimal with one ipam member replaced by `ipam`.
CniError ParseIpam(const std::string& ipam, NetConfig* out, const std::string& v = "1.1.0",
                   Command cmd = Command::kAdd) {
  return Parse(R"({"cniVersion":")" + v + R"(","name":"net1","ipam":)" + ipam + "}", cmd, out);
}

}  // namespace

TEST_CASE("CFG-1 minimal config is parsed with defaults") {
  NetConfig c;
  REQUIRE(Parse(kMinimal, Command::kAdd, &c).ok());
  CHECK(c.cni_version == "1.1.0");
  CHECK(c.name == "net1");
  CHECK(c.socket == "/run/vmip/leased.sock");
  CHECK(c.spool_dir == "/var/lib/vmip/spool");
  REQUIRE(c.pool.range_sets_size() == 1);
  REQUIRE(c.pool.range_sets(0).ranges_size() == 1);
  CHECK(c.pool.range_sets(0).ranges(0).subnet() == "10.1.0.0/16");
  CHECK(c.pool.range_sets(0).ranges(0).gateway().empty());
}

TEST_CASE("CFG-10 missing cniVersion means 0.1.0") {
  NetConfig c;
  REQUIRE(Parse(R"({"name":"n","ipam":{"subnet":"10.0.0.0/24"}})", Command::kAdd, &c).ok());
  CHECK(c.cni_version == "0.1.0");
}

TEST_CASE("CFG-10 unsupported cniVersion is code 1 with skel's details") {
  NetConfig c;
  CniError err = Parse(R"({"cniVersion":"9.9.9","name":"n","ipam":{"subnet":"10.0.0.0/24"}})",
                       Command::kAdd, &c);
  CHECK(err.code == 1);
  CHECK(err.msg == "incompatible CNI versions");
  CHECK(
      err.details ==
      R"(config is "9.9.9", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"])");
}

TEST_CASE("CFG-10 non-string cniVersion is code 6") {
  NetConfig c;
  CHECK(Parse(R"({"cniVersion":1,"name":"n"})", Command::kDel, &c).code == 6);
}

TEST_CASE("CFG-2 stdin that is not JSON is code 6") {
  NetConfig c;
  CniError err = Parse("{not json", Command::kAdd, &c);
  CHECK(err.code == 6);
  CHECK(err.msg.rfind("failed to decode network config: ", 0) == 0);
  CHECK(Parse("", Command::kAdd, &c).code == 6);
}

TEST_CASE("CFG-2 JSON that is not an object is code 6") {
  NetConfig c;
  CniError err = Parse("[1,2]", Command::kAdd, &c);
  CHECK(err.code == 6);
  CHECK(err.msg == "failed to decode network config: not a JSON object");
}

TEST_CASE("CFG-2 missing or empty network name is code 7") {
  NetConfig c;
  for (const char* conf : {R"({"cniVersion":"1.0.0"})", R"({"cniVersion":"1.0.0","name":""})",
                           R"({"cniVersion":"1.0.0","name":5})"}) {
    INFO(conf);
    CniError err = Parse(conf, Command::kDel, &c);
    CHECK(err.code == 7);
    CHECK(err.msg == "missing network name");
  }
}

TEST_CASE("CFG-2 network name with invalid characters is code 7") {
  NetConfig c;
  CniError err = Parse(R"({"cniVersion":"1.0.0","name":"my net"})", Command::kDel, &c);
  CHECK(err.code == 7);
  CHECK(err.msg == "invalid characters in network name");
}

TEST_CASE("CFG-3 missing ipam is code 7 for ADD") {
  NetConfig c;
  CniError err = Parse(R"({"cniVersion":"1.0.0","name":"n"})", Command::kAdd, &c);
  CHECK(err.code == 7);
  CHECK(err.msg == "missing ipam section");
}

TEST_CASE("CFG-3 ipam that is not an object is code 7") {
  NetConfig c;
  CniError err = ParseIpam(R"("vmip")", &c);
  CHECK(err.code == 7);
  CHECK(err.msg == "ipam must be an object");
}

TEST_CASE("DEL-5 DEL needs neither ipam nor a valid pool") {
  NetConfig c;
  CHECK(Parse(R"({"cniVersion":"1.0.0","name":"n"})", Command::kDel, &c).ok());
  REQUIRE(ParseIpam(R"({"ranges":"broken","socket":"/tmp/s","spoolDir":"/tmp/sp"})", &c, "1.0.0",
                    Command::kDel)
              .ok());
  CHECK(c.socket == "/tmp/s");
  CHECK(c.spool_dir == "/tmp/sp");
}

TEST_CASE("CFG-4 CFG-6 capabilities cniVersions and unknown keys are tolerated") {
  NetConfig c;
  CHECK(Parse(R"({"cniVersion":"1.1.0","cniVersions":["1.0.0","1.1.0"],"name":"n",
    "capabilities":{"ips":true},"ipMasq":true,"whatever":{"x":[1]},
    "ipam":{"type":"vmip","subnet":"10.0.0.0/24","unknownIpamKey":1}})",
              Command::kAdd, &c)
            .ok());
}

TEST_CASE("CFG pool: legacy subnet is prepended as its own range set") {
  NetConfig c;
  REQUIRE(ParseIpam(R"({"subnet":"10.0.0.0/24","rangeStart":"10.0.0.10","rangeEnd":"10.0.0.20",
    "gateway":"10.0.0.254","ranges":[[{"subnet":"fd00::/64"}]]})",
                    &c)
              .ok());
  REQUIRE(c.pool.range_sets_size() == 2);
  const auto& r = c.pool.range_sets(0).ranges(0);
  CHECK(r.subnet() == "10.0.0.0/24");
  CHECK(r.range_start() == "10.0.0.10");
  CHECK(r.range_end() == "10.0.0.20");
  CHECK(r.gateway() == "10.0.0.254");
  CHECK(c.pool.range_sets(1).ranges(0).subnet() == "fd00::/64");
}

TEST_CASE("CFG pool: range sets with several ranges keep their order") {
  NetConfig c;
  REQUIRE(ParseIpam(R"({"ranges":[[{"subnet":"10.0.0.0/24","gateway":"10.0.0.1"},
    {"subnet":"10.0.1.0/24","rangeStart":"10.0.1.5"}],[{"subnet":"fd00::/64"}]]})",
                    &c)
              .ok());
  REQUIRE(c.pool.range_sets_size() == 2);
  REQUIRE(c.pool.range_sets(0).ranges_size() == 2);
  CHECK(c.pool.range_sets(0).ranges(0).gateway() == "10.0.0.1");
  CHECK(c.pool.range_sets(0).ranges(1).range_start() == "10.0.1.5");
}

TEST_CASE("CFG pool: wrong JSON types are code 7 naming the key path") {
  struct Case {
    const char* ipam;
    const char* msg;
  } cases[] = {
      {R"({"ranges":{}})", "ipam.ranges must be a list"},
      {R"({"ranges":[{}]})", "ipam.ranges[0] must be a list"},
      {R"({"ranges":[[]]})", "ipam.ranges[0] must not be empty"},
      {R"({"ranges":[[{"subnet":"10.0.0.0/24"},{"subnet":1}]]})",
       "ipam.ranges[0][1].subnet must be a string"},
      {R"({"ranges":[[{"subnet":"10.0.0.0/24"}],[{"gateway":"x"}]]})",
       "ipam.ranges[1][0].subnet is required"},
      {R"({"ranges":[["x"]]})", "ipam.ranges[0][0] must be an object"},
      {R"({"subnet":["10.0.0.0/24"]})", "ipam.subnet must be a string"},
      {R"({"subnet":"10.0.0.0/24","rangeStart":5})", "ipam.rangeStart must be a string"},
      {R"({"subnet":"10.0.0.0/24","routes":{}})", "ipam.routes must be a list"},
      {R"({"subnet":"10.0.0.0/24","routes":[{"gw":"10.0.0.1"}]})",
       "ipam.routes[0].dst is required"},
      {R"({"subnet":"10.0.0.0/24","routes":[{"dst":"0.0.0.0/0","mtu":"1500"}]})",
       "ipam.routes[0].mtu must be an integer"},
      {R"({"subnet":"10.0.0.0/24","routes":[{"dst":"0.0.0.0/0","table":1.5}]})",
       "ipam.routes[0].table must be an integer"},
      {R"({"subnet":"10.0.0.0/24","routes":[{"dst":"0.0.0.0/0","priority":4294967296}]})",
       "ipam.routes[0].priority is out of range"},
      {R"({"subnet":"10.0.0.0/24","dns":[]})", "ipam.dns must be an object"},
      {R"({"subnet":"10.0.0.0/24","dns":{"nameservers":"1.1.1.1"}})",
       "ipam.dns.nameservers must be a list"},
      {R"({"subnet":"10.0.0.0/24","dns":{"search":["a",1]}})",
       "ipam.dns.search[1] must be a string"},
      {R"({"subnet":"10.0.0.0/24","exclude":"10.0.0.5"})", "ipam.exclude must be a list"},
      {R"({"subnet":"10.0.0.0/24","socket":1})", "ipam.socket must be a string"},
      {R"({"subnet":"10.0.0.0/24","spoolDir":false})", "ipam.spoolDir must be a string"},
  };
  for (const auto& c : cases) {
    NetConfig conf;
    INFO(c.ipam);
    CniError err = ParseIpam(c.ipam, &conf);
    CHECK(err.code == 7);
    CHECK(err.msg == c.msg);
  }
}

TEST_CASE("CFG pool: no ranges at all is code 7") {
  NetConfig c;
  for (const char* ipam : {R"({"type":"vmip"})", R"({"ranges":[]})"}) {
    INFO(ipam);
    CniError err = ParseIpam(ipam, &c);
    CHECK(err.code == 7);
    CHECK(err.msg == "ipam: no ranges or subnet configured");
  }
}

TEST_CASE("CFG pool: routes set has_* only for present fields") {
  NetConfig c;
  REQUIRE(ParseIpam(R"({"subnet":"10.0.0.0/24","routes":[
    {"dst":"0.0.0.0/0","gw":"10.0.0.1","mtu":1400,"advmss":0,"priority":-1,"table":100,"scope":253},
    {"dst":"192.168.0.0/16"}]})",
                    &c)
              .ok());
  REQUIRE(c.pool.routes_size() == 2);
  const auto& r = c.pool.routes(0);
  CHECK(r.dst() == "0.0.0.0/0");
  CHECK(r.gw() == "10.0.0.1");
  CHECK((r.has_mtu() && r.mtu() == 1400));
  CHECK((r.has_advmss() && r.advmss() == 0));
  CHECK((r.has_priority() && r.priority() == -1));
  CHECK((r.has_table() && r.table() == 100));
  CHECK((r.has_scope() && r.scope() == 253));
  const auto& r2 = c.pool.routes(1);
  CHECK(r2.gw().empty());
  CHECK_FALSE(r2.has_mtu());
  CHECK_FALSE(r2.has_advmss());
  CHECK_FALSE(r2.has_priority());
  CHECK_FALSE(r2.has_table());
  CHECK_FALSE(r2.has_scope());
}

TEST_CASE("CFG pool: dns and exclude are converted") {
  NetConfig c;
  REQUIRE(ParseIpam(R"({"subnet":"10.0.0.0/24","exclude":["10.0.0.5","10.0.0.128/25"],
    "dns":{"nameservers":["10.0.0.2","fd00::2"],"domain":"example.org","search":["a.example.org"],
    "options":["ndots:2"]}})",
                    &c)
              .ok());
  CHECK(c.pool.exclude_size() == 2);
  CHECK(c.pool.exclude(1) == "10.0.0.128/25");
  CHECK(c.pool.dns().nameservers_size() == 2);
  CHECK(c.pool.dns().nameservers(1) == "fd00::2");
  CHECK(c.pool.dns().domain() == "example.org");
  CHECK(c.pool.dns().search(0) == "a.example.org");
  CHECK(c.pool.dns().options(0) == "ndots:2");
}

TEST_CASE("CFG-7 CFG-8 args.cni and runtimeConfig are extracted") {
  NetConfig c;
  REQUIRE(Parse(R"({"cniVersion":"1.0.0","name":"n","ipam":{"subnet":"10.0.0.0/24"},
    "args":{"cni":{"vm":"ns/vm1","reservation":"r1","ips":["10.0.0.7/24"],"labels":{"x":"y"}}},
    "runtimeConfig":{"ips":["10.0.0.9"],"mac":"c2:11:22:33:44:55"}})",
                Command::kAdd, &c)
              .ok());
  CHECK(c.args_vm == std::optional<std::string>("ns/vm1"));
  CHECK(c.args_reservation == std::optional<std::string>("r1"));
  CHECK(c.args_ips == std::optional<std::vector<std::string>>({"10.0.0.7/24"}));
  CHECK(c.runtime_ips == std::vector<std::string>{"10.0.0.9"});
}

TEST_CASE("CFG-8 wrong types under args.cni are code 7") {
  NetConfig c;
  CniError err = Parse(R"({"cniVersion":"1.0.0","name":"n","ipam":{"subnet":"10.0.0.0/24"},
    "args":{"cni":{"vm":7}}})",
                       Command::kAdd, &c);
  CHECK(err.code == 7);
  CHECK(err.msg == "args.cni.vm must be a string");
  err = Parse(R"({"cniVersion":"1.0.0","name":"n","ipam":{"subnet":"10.0.0.0/24"},
    "runtimeConfig":{"ips":"10.0.0.1"}})",
              Command::kAdd, &c);
  CHECK(err.code == 7);
  CHECK(err.msg == "runtimeConfig.ips must be a list");
}

TEST_CASE("CHK-1 CHECK below 0.4.0 is code 1") {
  NetConfig c;
  CniError err = ParseIpam(R"({"subnet":"10.0.0.0/24"})", &c, "0.3.1", Command::kCheck);
  CHECK(err.code == 1);
  CHECK(err.msg == "config version does not allow CHECK");
  CHECK(ParseIpam(R"({"subnet":"10.0.0.0/24"})", &c, "0.4.0", Command::kCheck).ok());
}

TEST_CASE("GC-1 ST-4 GC and STATUS below 1.1.0 are code 1") {
  NetConfig c;
  CniError err = Parse(R"({"cniVersion":"1.0.0","name":"n","cni.dev/valid-attachments":[]})",
                       Command::kGc, &c);
  CHECK(err.code == 1);
  CHECK(err.msg == "config version does not allow GC");
  err = ParseIpam(R"({"subnet":"10.0.0.0/24"})", &c, "1.0.0", Command::kStatus);
  CHECK(err.code == 1);
  CHECK(err.msg == "config version does not allow STATUS");
  CHECK(ParseIpam(R"({"subnet":"10.0.0.0/24"})", &c, "1.1.0", Command::kStatus).ok());
}

TEST_CASE("CHK-2 prevResult addresses without prefix, 1.x shape") {
  NetConfig c;
  REQUIRE(Parse(R"({"cniVersion":"1.0.0","name":"n","ipam":{"subnet":"10.0.0.0/24"},
    "prevResult":{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24"},{"address":"fd00::2/64"}]}})",
                Command::kCheck, &c)
              .ok());
  CHECK(c.prev_result_ips == std::vector<std::string>{"10.0.0.2", "fd00::2"});
}

TEST_CASE("CHK-2 prevResult in the 0.2.0 ip4/ip6 shape") {
  NetConfig c;
  REQUIRE(Parse(R"({"cniVersion":"0.4.0","name":"n","ipam":{"subnet":"10.0.0.0/24"},
    "prevResult":{"cniVersion":"0.2.0","ip4":{"ip":"10.0.0.2/24"},"ip6":{"ip":"fd00::2/64"}}})",
                Command::kCheck, &c)
              .ok());
  CHECK(c.prev_result_ips == std::vector<std::string>{"10.0.0.2", "fd00::2"});
}

TEST_CASE("CHK-2 malformed prevResult on CHECK is code 7, ignored on DEL") {
  const char* conf = R"({"cniVersion":"1.0.0","name":"n","ipam":{"subnet":"10.0.0.0/24"},
    "prevResult":{"ips":{"address":"10.0.0.2/24"}}})";
  NetConfig c;
  CniError err = Parse(conf, Command::kCheck, &c);
  CHECK(err.code == 7);
  CHECK(err.msg == "prevResult.ips must be a list");
  CHECK(Parse(conf, Command::kDel, &c).ok());
}

TEST_CASE("GC-2 both attachment keys are read and merged without duplicates") {
  NetConfig c;
  REQUIRE(Parse(R"({"cniVersion":"1.1.0","name":"n",
    "cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"},{"containerID":"c2","ifname":"net1"}],
    "cni.dev/attachments":[{"containerID":"c1","ifname":"eth0"},{"containerID":"c3","ifname":"eth0"}]})",
                Command::kGc, &c)
              .ok());
  REQUIRE(c.valid_attachments.size() == 3);
  CHECK(c.valid_attachments[0].container_id() == "c1");
  CHECK(c.valid_attachments[1].ifname() == "net1");
  CHECK(c.valid_attachments[2].container_id() == "c3");
}

TEST_CASE("GC-2 null or empty list is an empty valid set, no key at all is code 7") {
  NetConfig c;
  CHECK(Parse(R"({"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":null})", Command::kGc,
              &c)
            .ok());
  CHECK(c.valid_attachments.empty());
  CHECK(Parse(R"({"cniVersion":"1.1.0","name":"n","cni.dev/attachments":[]})", Command::kGc, &c)
            .ok());
  CniError err = Parse(R"({"cniVersion":"1.1.0","name":"n"})", Command::kGc, &c);
  CHECK(err.code == 7);
  CHECK(err.msg == "GC: cni.dev/valid-attachments missing");
}

TEST_CASE("GC-2 malformed attachment entries are code 7") {
  NetConfig c;
  CniError err =
      Parse(R"({"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":[{"containerID":1}]})",
            Command::kGc, &c);
  CHECK(err.code == 7);
  CHECK(err.msg == "cni.dev/valid-attachments[0].containerID must be a string");
}

TEST_CASE("RES 0.2.0 ADD with two range sets of one family is code 7") {
  NetConfig c;
  const char* two_v4 = R"({"ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"10.1.0.0/24"}]]})";
  for (const char* v : {"0.1.0", "0.2.0"}) {
    CniError err = ParseIpam(two_v4, &c, v);
    INFO(v);
    CHECK(err.code == 7);
    CHECK(err.msg ==
          std::string("CNI version ") + v + " does not support more than 1 address per family");
  }
  CHECK(ParseIpam(two_v4, &c, "0.3.0").ok());
  CHECK(
      ParseIpam(R"({"ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"fd00::/64"}]]})", &c, "0.2.0")
          .ok());
}

TEST_CASE("VER-1 PeekCniVersion echoes supported versions only") {
  CHECK(PeekCniVersion(R"({"cniVersion":"0.4.0"})") == "0.4.0");
  CHECK(PeekCniVersion(R"({"cniVersion":"9.9.9"})") == "1.1.0");
  CHECK(PeekCniVersion("") == "1.1.0");
  CHECK(PeekCniVersion("garbage") == "1.1.0");
  CHECK(PeekCniVersion("{}") == "1.1.0");
}

namespace {

// Feeds `size` bytes through a temp file and reads them back with ReadConfigBytes.
CniError ReadSized(size_t size, std::string* out) {
  char path[] = "/tmp/vmip-stdin-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  unlink(path);
  std::string data(size, ' ');
  REQUIRE(write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
  lseek(fd, 0, SEEK_SET);
  CniError err = ReadConfigBytes(fd, out);
  close(fd);
  return err;
}

}  // namespace

TEST_CASE("CFG stdin up to 1 MiB is read, larger is code 5 naming the limit") {
  std::string out;
  REQUIRE(ReadSized(kMaxStdinBytes, &out).ok());
  CHECK(out.size() == kMaxStdinBytes);
  CniError err = ReadSized(kMaxStdinBytes + 1, &out);
  CHECK(err.code == 5);
  CHECK(err.msg == "network config on stdin exceeds the 1 MiB (1048576 bytes) limit");
}

TEST_CASE(
    "ipam.detachedTTL: a duration or seconds is sent in seconds and a bad one is code 7 naming "
    "it") {
  NetConfig c;
  const std::string ranges = R"("ranges":[[{"subnet":"10.1.0.0/16"}]])";
  REQUIRE(ParseIpam("{" + ranges + "}", &c).ok());
  CHECK_FALSE(c.pool.has_detached_ttl_seconds());
  REQUIRE(ParseIpam("{" + ranges + R"(,"detachedTTL":"7d"})", &c).ok());
  CHECK(c.pool.detached_ttl_seconds() == 7 * 86400);
  REQUIRE(ParseIpam("{" + ranges + R"(,"detachedTTL":90})", &c).ok());
  CHECK(c.pool.detached_ttl_seconds() == 90);
  REQUIRE(ParseIpam("{" + ranges + R"(,"detachedTTL":"0"})", &c).ok());
  CHECK(c.pool.has_detached_ttl_seconds());  // explicit never: wins over the daemon's
  for (const char* bad : {R"("1x")", "-1", "1.5", "true", R"(["1h"])"}) {
    INFO(bad);
    CniError e = ParseIpam("{" + ranges + R"(,"detachedTTL":)" + bad + "}", &c);
    CHECK(e.code == 7);
    CHECK(e.msg.find("ipam.detachedTTL") != std::string::npos);
  }
  // DEL never reads the pool, so a bad TTL cannot block a pod's deletion.
  CHECK(ParseIpam("{" + ranges + R"(,"detachedTTL":"bad"})", &c, "1.1.0", Command::kDel).ok());
}
