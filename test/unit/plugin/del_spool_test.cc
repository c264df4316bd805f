#include "del_spool.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

using namespace vmip::cni;

namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/vmip-spool-test-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  REQUIRE(d != nullptr);
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  return names;
}

vmip::v1::DelRequest Request(const std::string& cid, const std::string& network = "net1",
                             const std::string& ifname = "eth0") {
  vmip::v1::DelRequest r;
  r.mutable_caller()->set_network(network);
  r.mutable_caller()->set_container_id(cid);
  r.mutable_caller()->set_ifname(ifname);
  r.mutable_caller()->set_pod_name("virt-launcher-vm1-abcde");
  return r;
}

}  // namespace

TEST_CASE("DEL-4 spool file name is del-<network>-<containerid>-<ifname>.pb") {
  CHECK(SpoolFileName(Request("c1")) == "del-net1-c1-eth0.pb");
  CHECK(SpoolFileName(Request("c.1_x", "vm-net", "net1@x")) == "del-vm%2Dnet-c.1_x-net1%40x.pb");
}

TEST_CASE("DEL-4 names with '-' never share a spool record") {
  // network "a-b" + container "c" versus network "a" + container "b-c", and so on.
  std::set<std::string> names = {
      SpoolFileName(Request("c", "a-b")), SpoolFileName(Request("b-c", "a")),
      SpoolFileName(Request("c-eth0", "a", "x")), SpoolFileName(Request("c", "a", "eth0-x")),
      SpoolFileName(Request("c", "a%2Db"))};
  CHECK(names.size() == 5);
  std::string dir = TempDir();
  std::string path;
  REQUIRE(SpoolDel(dir, Request("c", "a-b"), &path).ok());
  REQUIRE(SpoolDel(dir, Request("b-c", "a"), &path).ok());
  CHECK(ListDir(dir).size() == 2);
  std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("DEL-4 a name too long for the file system gets a unique record each") {
  std::string network(300, 'n');
  std::string dir = TempDir();
  std::string first, second;
  REQUIRE(SpoolDel(dir, Request("c1", network), &first).ok());
  REQUIRE(SpoolDel(dir, Request("c2", network), &second).ok());
  CHECK(first != second);
  CHECK(first.rfind(dir + "/del-~", 0) == 0);
  CHECK(first.size() - dir.size() <= kMaxSpoolName);
  CHECK(ListDir(dir).size() == 2);
  std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("DEL-4 spooled DEL is a parseable DelRequest in a new 0700 directory") {
  std::string base = TempDir();
  std::string dir = base + "/a/b";
  std::string path;
  REQUIRE(SpoolDel(dir, Request("c1"), &path).ok());
  CHECK(path == dir + "/del-net1-c1-eth0.pb");
  struct stat st;
  REQUIRE(stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(ListDir(dir) == std::vector<std::string>{"del-net1-c1-eth0.pb"});  // no temp left

  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  vmip::v1::DelRequest back;
  REQUIRE(back.ParseFromString(bytes.str()));
  CHECK(back.caller().container_id() == "c1");
  CHECK(back.caller().pod_name() == "virt-launcher-vm1-abcde");
  std::system(("rm -rf " + base).c_str());
}

TEST_CASE("DEL-1 a repeated DEL overwrites its own spool record") {
  std::string dir = TempDir();
  std::string path;
  REQUIRE(SpoolDel(dir, Request("c1"), &path).ok());
  REQUIRE(SpoolDel(dir, Request("c1"), &path).ok());
  REQUIRE(SpoolDel(dir, Request("c2"), &path).ok());
  CHECK(ListDir(dir).size() == 2);
  std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("DEL-4 unwritable spool directory is code 5") {
  std::string path;
  CniError err = SpoolDel("/proc/vmip-no-such-dir", Request("c1"), &path);
  CHECK(err.code == 5);
  CHECK(err.msg.find("/proc/vmip-no-such-dir") != std::string::npos);
}
