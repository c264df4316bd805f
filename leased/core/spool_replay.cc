#include "spool_replay.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "decision_log.h"

namespace vmip {
namespace {

std::vector<std::string> SpoolFiles(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 3 && name.compare(name.size() - 3, 3, ".pb") == 0) out.push_back(name);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

void LogFailure(const std::string& what, const std::string& path, const std::string& then) {
  Log(LogLevel::kError,
      "op=spool file=" + path + " msg=\"" + what + ": " + strerror(errno) + "; " + then + "\"");
}

// The whole file, or false (errno set) when it cannot be read: a record that was not
// read is never taken for an empty one, applied and deleted.
bool ReadRecord(const std::string& path, std::string* bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    bytes->append(buf, static_cast<size_t>(n));
  }
  int saved = errno;
  close(fd);
  errno = saved;
  return n == 0;
}

// Unlinks and renames become durable only with an fsync of the directory.
void SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0)
    LogFailure("fsync", dir, "records removed just now may be replayed again (harmless)");
  if (fd >= 0) close(fd);
}

// Applies one record; true when it is done with (applied, or kept as *.bad).
bool ReplayOne(const std::string& path, LeaseService& service, bool* applied) {
  std::string bytes;
  if (!ReadRecord(path, &bytes)) {
    LogFailure("cannot read record", path, "kept for the next pass");
    return false;
  }
  v1::DelRequest req;
  if (!req.ParseFromString(bytes)) {
    Log(LogLevel::kError, "op=spool file=" + path + " msg=\"unreadable record, kept as .bad\"");
    if (rename(path.c_str(), (path + ".bad").c_str()) == 0) return true;
    LogFailure("rename to .bad", path, "kept as is, tried again next pass");
    return false;
  }
  v1::DelReply reply = service.Del(req);
  if (reply.error().code() != 0 && reply.error().code() != kInvalidEnv &&
      reply.error().code() != kInvalidConfig) {
    // A database failure: keep the record for the next pass.
    Log(LogLevel::kError, "op=spool file=" + path + " msg=\"" + reply.error().msg() + "\"");
    return false;
  }
  *applied = true;
  if (unlink(path.c_str()) == 0) return true;
  LogFailure("unlink", path, "DEL applied; the record will be replayed again (harmless)");
  return false;
}

}  // namespace

uint64_t ReplaySpool(const std::string& spool_dir, LeaseService& service, bool quiet) {
  uint64_t applied = 0;
  bool changed = false;
  for (const std::string& name : SpoolFiles(spool_dir)) {
    bool done_applied = false;
    changed |= ReplayOne(spool_dir + "/" + name, service, &done_applied);
    applied += done_applied ? 1 : 0;
  }
  if (changed) SyncDir(spool_dir);
  if (applied || !quiet)
    Log(LogLevel::kInfo, "op=spool dir=" + spool_dir + " replayed=" + std::to_string(applied));
  return applied;
}

}  // namespace vmip
