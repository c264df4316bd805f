#include "del_spool.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
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

vmip::v1::DelRequest Request(const std::string& cid) {
  vmip::v1::DelRequest r;
  r.mutable_caller()->set_network("net1");
  r.mutable_caller()->set_container_id(cid);
  r.mutable_caller()->set_ifname("eth0");
  r.mutable_caller()->set_pod_name("virt-launcher-vm1-abcde");
  return r;
}

}  // namespace

TEST_CASE("DEL-4 spool file name is del-<network>-<containerid>-<ifname>.pb") {
  CHECK(SpoolFileName(Request("c1")) == "del-net1-c1-eth0.pb");
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
