#include "tls_files.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <sstream>

namespace vmip {
namespace {

Result<std::string> ReadPem(const std::string& flag, const std::string& path) {
  if (path.empty()) return MakeError(kInvalidConfig, "TLS needs " + flag + " too");
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || text.str().find("-----BEGIN") == std::string::npos)
    return MakeError(kInvalidConfig, flag + " " + path + " is not a readable PEM file");
  return text.str();
}

}  // namespace

Result<TlsMaterial> LoadTls(const TlsFiles& files) {
  TlsMaterial out;
  if (!files.enabled()) return out;
  auto ca = ReadPem("--tls-ca", files.ca);
  if (!ca.ok()) return ca.error();
  auto cert = ReadPem("--tls-cert", files.cert);
  if (!cert.ok()) return cert.error();
  auto key = ReadPem("--tls-key", files.key);
  if (!key.ok()) return key.error();
  return TlsMaterial{true, ca.value(), cert.value(), key.value()};
}

std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(const TlsMaterial& tls) {
  if (!tls.enabled) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = tls.ca;
  o.pem_cert_chain = tls.cert;
  o.pem_private_key = tls.key;
  return grpc::SslCredentials(o);
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const TlsMaterial& tls) {
  if (!tls.enabled) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions o(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  o.pem_root_certs = tls.ca;
  o.pem_key_cert_pairs.push_back({tls.key, tls.cert});
  return grpc::SslServerCredentials(o);
}

}  // namespace vmip
