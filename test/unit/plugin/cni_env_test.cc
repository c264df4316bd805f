#include "cni_env.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>

using namespace vmip::cni;

namespace {

struct FakeEnv {
  std::map<std::string, std::string> vars;
  EnvLookup lookup() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

FakeEnv AddEnv() {
  return {{{"CNI_COMMAND", "ADD"},
           {"CNI_CONTAINERID", "c1"},
           {"CNI_NETNS", "/run/netns/x"},
           {"CNI_IFNAME", "eth0"},
           {"CNI_ARGS", "K8S_POD_NAME=p"}}};
}

CniError Read(const FakeEnv& env, CniEnv* out) {
  return ReadEnv(env.lookup(), out);
}

}  // namespace

TEST_CASE("ENV-2 ADD with all variables is accepted, CNI_PATH not required") {
  CniEnv e;
  REQUIRE(Read(AddEnv(), &e).ok());
  CHECK(e.command == Command::kAdd);
  CHECK(e.container_id == "c1");
  CHECK(e.netns == "/run/netns/x");
  CHECK(e.ifname == "eth0");
  CHECK(e.args == "K8S_POD_NAME=p");
}

TEST_CASE("ENV-2 ADD without CNI_NETNS is code 4 naming it") {
  FakeEnv env = AddEnv();
  env.vars.erase("CNI_NETNS");
  CniEnv e;
  CniError err = Read(env, &e);
  CHECK(err.code == 4);
  CHECK(err.msg == "required env variables [CNI_NETNS] missing");
}

TEST_CASE("ENV-2 empty variables count as missing and are listed together") {
  FakeEnv env = AddEnv();
  env.vars["CNI_CONTAINERID"] = "";
  env.vars.erase("CNI_IFNAME");
  CniEnv e;
  CniError err = Read(env, &e);
  CHECK(err.code == 4);
  CHECK(err.msg == "required env variables [CNI_CONTAINERID,CNI_IFNAME] missing");
}

TEST_CASE("ENV-2 CHECK requires CNI_NETNS like ADD") {
  FakeEnv env = AddEnv();
  env.vars["CNI_COMMAND"] = "CHECK";
  env.vars.erase("CNI_NETNS");
  CniEnv e;
  CHECK(Read(env, &e).code == 4);
}

TEST_CASE("ENV-2 DEL-2 DEL without CNI_NETNS is accepted") {
  FakeEnv env = AddEnv();
  env.vars["CNI_COMMAND"] = "DEL";
  env.vars.erase("CNI_NETNS");
  CniEnv e;
  REQUIRE(Read(env, &e).ok());
  CHECK(e.command == Command::kDel);
  CHECK(e.netns.empty());
}

TEST_CASE("ENV-2 DEL without CNI_IFNAME is code 4") {
  FakeEnv env = AddEnv();
  env.vars["CNI_COMMAND"] = "DEL";
  env.vars.erase("CNI_IFNAME");
  CniEnv e;
  CniError err = Read(env, &e);
  CHECK(err.code == 4);
  CHECK(err.msg == "required env variables [CNI_IFNAME] missing");
}

TEST_CASE("ENV-2 GC STATUS and VERSION need nothing but CNI_COMMAND") {
  for (const char* cmd : {"GC", "STATUS", "VERSION"}) {
    FakeEnv env{{{"CNI_COMMAND", cmd}, {"CNI_IFNAME", "bad/name"}}};
    CniEnv e;
    INFO(cmd);
    CHECK(Read(env, &e).ok());
  }
}

TEST_CASE("ENV-1 unknown CNI_COMMAND is code 4") {
  FakeEnv env{{{"CNI_COMMAND", "add"}}};
  CniEnv e;
  CniError err = Read(env, &e);
  CHECK(err.code == 4);
  CHECK(err.msg == "unknown CNI_COMMAND: add");
}

TEST_CASE("ENV-9 unset or empty CNI_COMMAND means about") {
  CniEnv e;
  REQUIRE(Read(FakeEnv{}, &e).ok());
  CHECK(e.command == Command::kAbout);
  REQUIRE(Read(FakeEnv{{{"CNI_COMMAND", ""}}}, &e).ok());
  CHECK(e.command == Command::kAbout);
}

TEST_CASE("ENV-3 container id with invalid characters is code 4") {
  for (const char* id : {"bad/id", "-leading", ".x", "a b", "x:y"}) {
    FakeEnv env = AddEnv();
    env.vars["CNI_CONTAINERID"] = id;
    CniEnv e;
    INFO(id);
    CniError err = Read(env, &e);
    CHECK(err.code == 4);
    CHECK(err.msg == "invalid characters in CNI_CONTAINERID");
  }
}

TEST_CASE("ENV-3 container id regex accepts sandbox-style ids") {
  CHECK(IsValidCniName("0123abcdefABCDEF"));
  CHECK(IsValidCniName("a_b.c-d"));
  CHECK_FALSE(IsValidCniName(""));
  CHECK_FALSE(IsValidCniName("_a"));
}

TEST_CASE("ENV-4 interface names are validated like skel") {
  CHECK(InterfaceNameProblem("eth0").empty());
  CHECK(InterfaceNameProblem("123456789012345").empty());
  CHECK_FALSE(InterfaceNameProblem("1234567890123456").empty());
  for (const char* bad : {".", "..", "a/b", "a:b", "a b", "a\tb"}) {
    FakeEnv env = AddEnv();
    env.vars["CNI_IFNAME"] = bad;
    CniEnv e;
    INFO(bad);
    CHECK(Read(env, &e).code == 4);
  }
}
