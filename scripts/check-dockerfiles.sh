#!/usr/bin/env bash
# Runs the build stage of each Dockerfile without Docker: the files its COPY lines name are copied into a scratch
# folder laid out as the image's WORKDIR, then its RUN lines run there (with /app mapped into the scratch folder),
# so a Dockerfile whose restore or publish would fail is caught where no Docker engine is, such as CI here.
#
#   scripts/check-dockerfiles.sh                      every src/*/Dockerfile
#   scripts/check-dockerfiles.sh src/Kombo.Worker/Dockerfile
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly ROOT="$PWD"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

check() {
  local dockerfile="$1" scratch workdir line stage=0
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' RETURN
  workdir="$scratch"
  while IFS= read -r line || [[ -n "$line" ]]; do
    case "$line" in
      FROM\ *)
        stage=$((stage + 1))
        ((stage > 1)) && break ;;
      WORKDIR\ *)
        workdir="$scratch${line#WORKDIR }"
        mkdir -p "$workdir" ;;
      COPY\ --*) ;;
      COPY\ *)
        # shellcheck disable=SC2206  # the COPY line's words
        local words=(${line#COPY }) destination source
        destination="${words[-1]}"
        unset 'words[-1]'
        [[ "$destination" == /* ]] || destination="$workdir/$destination"
        mkdir -p "$destination"
        for source in "${words[@]}"; do
          cp -R "$ROOT/$source" "$destination/"
        done ;;
      RUN\ *)
        local command="${line#RUN }"
        command="${command// \/app/ $scratch/app}"
        printf 'docker build stage of %s: %s\n' "$dockerfile" "${line#RUN }"
        (cd "$workdir" && bash -c "$command") ;;
    esac
  done <"$dockerfile"
  local project
  project="$(basename "$(dirname "$dockerfile")")"
  [[ -f "$scratch/app/$project.dll" ]] || { echo "check-dockerfiles: $dockerfile published no $project.dll" >&2; return 1; }
  echo "check-dockerfiles: $dockerfile builds ($project.dll published)"
}

files=("$@")
((${#files[@]} > 0)) || files=(src/*/Dockerfile)
for dockerfile in "${files[@]}"; do
  check "$dockerfile"
done
