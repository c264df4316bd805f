#include "kube_config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace vmip {
namespace {

Error ConfigError(const std::string& source, const std::string& msg) {
  return MakeError(kInvalidConfig, "kubernetes config " + source + ": " + msg);
}

// RFC 4648 base64 as kubeconfig "-data" fields carry it; whitespace is skipped.
Result<std::string> DecodeBase64(const std::string& in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
    size_t v = kAlphabet.find(c);
    if (v == std::string::npos) return MakeError(kInvalidConfig, "invalid base64 data");
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

// The entry named `name` in a kubeconfig list (clusters, users, contexts), or null.
YAML::Node Named(const YAML::Node& list, const std::string& name, const char* field) {
  if (!list.IsSequence()) return YAML::Node();
  for (const auto& item : list)
    if (item["name"] && item["name"].as<std::string>() == name) return item[field];
  return YAML::Node();
}

std::string Text(const YAML::Node& node, const char* key) {
  return node && node[key] && node[key].IsScalar() ? node[key].as<std::string>() : "";
}

std::string Resolve(const std::string& dir, const std::string& file) {
  if (file.empty() || file[0] == '/') return file;
  return dir + "/" + file;
}

// A "-data" field (base64) or a file field, whichever is set; "" when neither is.
Result<std::string> DataOrFile(const YAML::Node& node, const std::string& key,
                               const std::string& dir, const std::string& source) {
  std::string data = Text(node, (key + "-data").c_str());
  if (!data.empty()) {
    auto decoded = DecodeBase64(data);
    if (!decoded.ok()) return ConfigError(source, key + "-data: " + decoded.error().msg);
    return decoded.value();
  }
  std::string file = Text(node, key.c_str());
  if (file.empty()) return std::string();
  return ReadWholeFile(Resolve(dir, file), key + " of " + source);
}

Result<KubeConfig> FromKubeconfig(const YAML::Node& root, const std::string& path) {
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  std::string context_name = Text(root, "current-context");
  if (context_name.empty()) return ConfigError(path, "no current-context");
  YAML::Node context = Named(root["contexts"], context_name, "context");
  if (!context) return ConfigError(path, "current-context \"" + context_name + "\" not found");
  YAML::Node cluster = Named(root["clusters"], Text(context, "cluster"), "cluster");
  if (!cluster) return ConfigError(path, "cluster of context \"" + context_name + "\" not found");
  YAML::Node user = Named(root["users"], Text(context, "user"), "user");
  KubeConfig c;
  c.source = path;
  c.server = Text(cluster, "server");
  while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
  if (c.server.rfind("https://", 0) != 0)
    return ConfigError(path, "server \"" + c.server + "\" is not an https:// URL");
  auto ca = DataOrFile(cluster, "certificate-authority", dir, path);
  if (!ca.ok()) return ca.error();
  c.ca_pem = ca.value();
  c.token = Text(user, "token");
  c.token_file = Resolve(dir, Text(user, "tokenFile"));
  auto cert = DataOrFile(user, "client-certificate", dir, path);
  if (!cert.ok()) return cert.error();
  auto key = DataOrFile(user, "client-key", dir, path);
  if (!key.ok()) return key.error();
  c.client_cert_pem = cert.value();
  c.client_key_pem = key.value();
  if (c.client_cert_pem.empty() != c.client_key_pem.empty())
    return ConfigError(path, "client-certificate and client-key must be given together");
  if (c.token.empty() && c.token_file.empty() && c.client_cert_pem.empty())
    return ConfigError(path, "user of context \"" + context_name +
                                 "\" has no token, tokenFile or client certificate");
  return c;
}

}  // namespace

Result<std::string> ReadWholeFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(kInvalidConfig, "cannot read " + what + " (" + path + ")");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Result<KubeConfig> InClusterConfig(const std::string& dir) {
  const char* host = getenv("KUBERNETES_SERVICE_HOST");
  const char* port = getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port)
    return ConfigError("in-cluster",
                       "KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set (not in a "
                       "pod? use --kubeconfig)");
  KubeConfig c;
  c.source = "in-cluster";
  std::string h = host;
  c.server = "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;
  auto ca = ReadWholeFile(dir + "/ca.crt", "the service account CA");
  if (!ca.ok()) return ca.error();
  c.ca_pem = ca.value();
  c.token_file = dir + "/token";
  auto token = ReadWholeFile(c.token_file, "the service account token");
  if (!token.ok()) return token.error();
  return c;
}

Result<KubeConfig> LoadKubeconfig(const std::string& path) {
  try {
    return FromKubeconfig(YAML::LoadFile(path), path);
  } catch (const YAML::Exception& e) {
    return ConfigError(path, std::string("cannot parse: ") + e.what());
  }
}

}  // namespace vmip
