#include "spool_replay.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
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

void SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  fsync(fd);
  close(fd);
}

}  // namespace

uint64_t ReplaySpool(const std::string& spool_dir, LeaseService& service, bool quiet) {
  uint64_t applied = 0;
  for (const std::string& name : SpoolFiles(spool_dir)) {
    std::string path = spool_dir + "/" + name;
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    v1::DelRequest req;
    if (!req.ParseFromString(bytes.str())) {
      Log(LogLevel::kError, "op=spool file=" + path + " msg=\"unreadable record, kept as .bad\"");
      rename(path.c_str(), (path + ".bad").c_str());
      continue;
    }
    v1::DelReply reply = service.Del(req);
    if (reply.error().code() != 0 && reply.error().code() != kInvalidEnv &&
        reply.error().code() != kInvalidConfig) {
      // A database failure: keep the record for the next start.
      Log(LogLevel::kError, "op=spool file=" + path + " msg=\"" + reply.error().msg() + "\"");
      continue;
    }
    unlink(path.c_str());
    applied++;
  }
  if (applied) SyncDir(spool_dir);
  if (applied || !quiet)
    Log(LogLevel::kInfo, "op=spool dir=" + spool_dir + " replayed=" + std::to_string(applied));
  return applied;
}

}  // namespace vmip
