// Optional mutual TLS for the links that leave the node: etcd and the peer service.
// One CA, one certificate and key per node (--tls-ca, --tls-cert, --tls-key).
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "error.h"

namespace vmip {

struct TlsFiles {
  std::string ca, cert, key;  // paths; all empty = plaintext
  bool enabled() const { return !ca.empty() || !cert.empty() || !key.empty(); }
};

// The PEM contents, read once at start so a bad path fails the daemon, not a call.
struct TlsMaterial {
  bool enabled = false;
  std::string ca, cert, key;
};

Result<TlsMaterial> LoadTls(const TlsFiles& files);
std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(const TlsMaterial& tls);
// Peers must present a certificate signed by the CA.
std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const TlsMaterial& tls);

}  // namespace vmip
