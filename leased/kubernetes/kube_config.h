// Where the Kubernetes API server is and how to prove who we are: from the pod's
// service account (in-cluster) or from a kubeconfig file (its current context).
#pragma once

#include <string>

#include "error.h"

namespace vmip {

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

struct KubeConfig {
  std::string server;      // "https://host:port", no trailing slash
  std::string ca_pem;      // CA bundle the server's certificate must chain to
  std::string token;       // bearer token given inline
  std::string token_file;  // bearer token read from this file (re-read periodically)
  std::string client_cert_pem, client_key_pem;  // client certificate authentication
  std::string source;                           // "in-cluster" or the kubeconfig path, for messages
};

// KUBERNETES_SERVICE_HOST/_PORT and the service account's token and CA under dir.
Result<KubeConfig> InClusterConfig(const std::string& dir = kServiceAccountDir);

// A standard kubeconfig: current-context -> cluster (server, certificate-authority or
// certificate-authority-data) and user (token, tokenFile, client-certificate(-data)
// and client-key(-data)). Relative file names are relative to the kubeconfig's
// directory, as kubectl reads them.
Result<KubeConfig> LoadKubeconfig(const std::string& path);

// Reads a whole file; code 7 naming what it was for when it cannot.
Result<std::string> ReadWholeFile(const std::string& path, const std::string& what);

}  // namespace vmip
