// vmip: the CNI IPAM plugin binary. Reads env + stdin, answers VERSION itself and
// forwards ADD/DEL/CHECK/GC/STATUS to vmip-leased. Exit 0 on success (only ADD prints a
// result), 1 on error with the error JSON on stdout (ERR-1).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cni_args.h"
#include "cni_env.h"
#include "cni_result.h"
#include "cni_version.h"
#include "daemon_client.h"
#include "del_spool.h"
#include "net_config.h"
#include "request_builder.h"

namespace vmip::cni {
namespace {

// What the process prints on stdout and returns.
struct Outcome {
  int rc = 0;
  std::string out;
};

Outcome Fail(const std::string& version, const CniError& err) {
  return {1, FormatError(version, err)};
}

// The daemon's verdict inside a reply, as a CniError.
CniError ReplyError(const vmip::v1::Error& e) {
  return e.code() == 0 ? CniError::Ok() : MakeError(e.code(), e.msg(), e.details());
}

void Log(const std::string& line) {
  fprintf(stderr, "vmip: %s\n", line.c_str());
}

// One client per call: it holds only the socket path and the call's start time (the
// plugin speaks its one unary call itself, grpc_wire.h, so there is no channel to keep).
DaemonClient Daemon(const std::string& socket) {
  return DaemonClient(socket);
}

Outcome RunAdd(const Invocation& in) {
  const std::string& v = in.config.cni_version;
  vmip::v1::AddReply reply;
  RpcOutcome rpc = Daemon(in.config.socket).Add(BuildAddRequest(in), &reply);
  if (rpc.status != RpcStatus::kOk) return Fail(v, rpc.error);
  if (auto err = ReplyError(reply.error()); !err.ok()) return Fail(v, err);
  Outcome o;
  if (auto err = FormatAddResult(v, reply, &o.out); !err.ok()) return Fail(v, err);
  return o;
}

// Any transport failure is spooled, not only "unreachable": DEL must never block pod
// deletion (DEL-4), and the daemon replays the spool when it (re)starts.
Outcome SpoolDelete(const Invocation& in, const vmip::v1::DelRequest& req, const CniError& why) {
  std::string path;
  CniError err = SpoolDel(in.config.spool_dir, req, &path);
  if (err.ok()) {
    Log(why.msg + "; DEL recorded in " + path + " for replay");
  } else {
    Log(why.msg + "; could not record DEL in the spool either (" + err.msg +
        "); reporting success so pod deletion is not blocked");
  }
  return {};
}

Outcome RunDel(const Invocation& in) {
  vmip::v1::DelRequest req = BuildDelRequest(in);
  vmip::v1::DelReply reply;
  RpcOutcome rpc = Daemon(in.config.socket).Del(req, &reply);
  if (rpc.status != RpcStatus::kOk) return SpoolDelete(in, req, rpc.error);
  auto err = ReplyError(reply.error());
  // The daemon could not commit (disk full, database busy): DEL must not block pod
  // deletion, so it is spooled like an unreachable daemon's, and replayed later.
  if (err.code == kTryAgainLater) return SpoolDelete(in, req, err);
  if (!err.ok()) return Fail(in.config.cni_version, err);
  return {};
}

Outcome RunCheck(const Invocation& in) {
  vmip::v1::CheckReply reply;
  RpcOutcome rpc = Daemon(in.config.socket).Check(BuildCheckRequest(in), &reply);
  if (rpc.status != RpcStatus::kOk) return Fail(in.config.cni_version, rpc.error);
  if (auto err = ReplyError(reply.error()); !err.ok()) return Fail(in.config.cni_version, err);
  return {};
}

Outcome RunGc(const Invocation& in) {
  vmip::v1::GcReply reply;
  RpcOutcome rpc = Daemon(in.config.socket).Gc(BuildGcRequest(in), &reply);
  if (rpc.status != RpcStatus::kOk) return Fail(in.config.cni_version, rpc.error);
  if (auto err = ReplyError(reply.error()); !err.ok()) return Fail(in.config.cni_version, err);
  if (reply.dropped()) Log("GC dropped " + std::to_string(reply.dropped()) + " attachments");
  return {};
}

// Any transport failure means "cannot service ADD": code 50 (ST-2).
Outcome RunStatus(const Invocation& in) {
  vmip::v1::StatusReply reply;
  RpcOutcome rpc = Daemon(in.config.socket).Status(BuildStatusRequest(in), &reply);
  if (rpc.status != RpcStatus::kOk) {
    return Fail(in.config.cni_version, MakeError(kNotAvailable, rpc.error.msg));
  }
  if (auto err = ReplyError(reply.error()); !err.ok()) return Fail(in.config.cni_version, err);
  return {};
}

Outcome Dispatch(const Invocation& in) {
  switch (in.env.command) {
    case Command::kAdd:
      return RunAdd(in);
    case Command::kDel:
      return RunDel(in);
    case Command::kCheck:
      return RunCheck(in);
    case Command::kGc:
      return RunGc(in);
    case Command::kStatus:
      return RunStatus(in);
    default:
      return Fail(kCurrentVersion, MakeError(kInternal, "unhandled command"));
  }
}

// VERSION reads stdin only to echo its cniVersion; a terminal is not waited on.
Outcome RunVersion() {
  std::string bytes;
  if (!isatty(STDIN_FILENO) && ReadConfigBytes(STDIN_FILENO, &bytes).ok()) {
    return {0, FormatVersionInfo(PeekCniVersion(bytes))};
  }
  return {0, FormatVersionInfo(kCurrentVersion)};
}

Outcome Run() {
  Invocation in;
  CniError env_err = ReadEnv([](const char* name) { return getenv(name); }, &in.env);
  if (env_err.ok() && in.env.command == Command::kAbout) {
    fputs(AboutText().c_str(), stderr);
    return {};
  }
  if (env_err.ok() && in.env.command == Command::kVersion) return RunVersion();

  std::string bytes;
  if (auto err = ReadConfigBytes(STDIN_FILENO, &bytes); !err.ok()) {
    return Fail(kCurrentVersion, err);
  }
  if (!env_err.ok()) return Fail(PeekCniVersion(bytes), env_err);
  if (auto err = ParseNetConfig(bytes, in.env.command, &in.config); !err.ok()) {
    return Fail(PeekCniVersion(bytes), err);
  }
  in.args = ParseCniArgs(in.env.args);
  if (in.env.command == Command::kAdd || in.env.command == Command::kCheck) {
    if (auto err = CheckArgKeys(in.args); !err.ok()) return Fail(in.config.cni_version, err);
  }
  return Dispatch(in);
}

}  // namespace
}  // namespace vmip::cni

int main() {
  vmip::cni::Outcome o = vmip::cni::Run();
  fwrite(o.out.data(), 1, o.out.size(), stdout);
  fflush(stdout);
  // Everything worth keeping is already on stdout or in the spool: no exit-time
  // destructors or atexit handlers are needed.
  _exit(o.rc);
}
