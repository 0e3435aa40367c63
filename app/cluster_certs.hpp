#pragma once

namespace mcpvisor::app {

/// `mcpvisor cluster-certs DIR --nodes N`: writes a CA and N node
/// certificates for the cluster's mutual TLS. argv[0] is "cluster-certs".
int cluster_certs_main(int argc, char** argv);

} // namespace mcpvisor::app
