#!/usr/bin/env bash
# Validates the deploy files offline, without a container engine or a cluster:
#   * the Kubernetes manifests (kustomize's output, and the example Secrets) against the
#     Kubernetes API schemas, strictly (kubernetes-validate: unknown fields are errors);
#   * compose.yaml against the Compose Specification's schema (check-jsonschema's copy);
#   * Envoy's, Prometheus' and the Collector's configuration parse as YAML.
# Both validators come from PyPI into a virtual environment of their own, carry their
# schemas, and fetch nothing while validating.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBERNETES_VERSION="${KUBERNETES_VERSION:-1.32.0}"
venv="${CARGO_TARGET_DIR:-target}/deploy-venv"
if [ ! -x "$venv/bin/kubernetes-validate" ] || [ ! -x "$venv/bin/check-jsonschema" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check kubernetes-validate==1.37.0 check-jsonschema==0.39.0
fi

rendered="$(mktemp --suffix=.yaml)"
trap 'rm -f "$rendered"' EXIT
if command -v kubectl >/dev/null 2>&1; then
  kubectl kustomize deploy/k8s >"$rendered"
  echo "kustomize: $(grep -c '^kind:' "$rendered") resources rendered (kubectl kustomize)"
else
  # No kustomize here: validate each resource the kustomization lists, as written.
  "$venv/bin/python" - "$rendered" <<'PY'
import sys, yaml, pathlib
base = pathlib.Path("deploy/k8s")
kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
with open(sys.argv[1], "w") as out:
    for resource in kustomization["resources"]:
        out.write((base / resource).read_text() + "\n---\n")
print(f"kustomize: not installed; the {len(kustomization['resources'])} files it lists are validated as written")
PY
fi
"$venv/bin/kubernetes-validate" --strict --quiet -k "$KUBERNETES_VERSION" "$rendered" deploy/k8s/secrets.example.yaml
echo "kubernetes-validate --strict (Kubernetes $KUBERNETES_VERSION): every manifest passed"
"$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose.yaml
"$venv/bin/python" - <<'PY'
import yaml
for path in ["deploy/envoy.yaml", "deploy/prometheus.yml", "deploy/otel-collector.yaml"]:
    yaml.safe_load(open(path))
    print(f"{path}: parses")
PY
