#!/usr/bin/env bash
# A hand-made mutation check: does the test suite catch what it claims to?
#
# Each mutant below is one semantic change to one line (a domain rule, a template's escaping, the
# outbox dedupe, an option check ...) with the tests that should catch it. The script copies the
# tree to a scratch directory (the real worktree is never touched), checks that those tests pass
# there unchanged, then applies one mutant at a time, runs its tests, restores the file, and
# prints `caught` or `SURVIVED` per mutant and a summary line. Results go in docs/mutation.md.
#
# Run by hand, not in CI (it rebuilds the crate once per mutant; count some minutes each):
#   scripts/mutants.sh                 every mutant
#   scripts/mutants.sh NAME...         only these (names as listed by `scripts/mutants.sh --list`)
# Environment: MUTANTS_TARGET_DIR (the scratch copy's own target directory, default
# $CARGO_TARGET_DIR-mutants, seeded once from CARGO_TARGET_DIR; never the worktree's own, since
# cargo keys a workspace's artifacts by relative path and the two trees would overwrite each
# other's), AVTAL_TYPST (the document mutant needs typst; CI=true is set so a test that would
# skip without it fails instead), MUTANTS_DIR (scratch directory, default a fresh one in /tmp),
# MUTANTS_SKIP_BASELINE=1 (skip the run on the unchanged copy).
#
# A test filter is `lib:FILTER` (unit tests of the library) or `api:FILTER` (the API suite);
# a mutant is caught when any of its filtered tests fails. A mutant whose text is no longer in its
# file (the code moved) is reported as `stale` and counts as not caught: update its line here.
set -euo pipefail

names=() files=() olds=() news=() filters=()
mutant() {
    names+=("$1") files+=("$2") olds+=("$3") news+=("$4")
    shift 4
    filters+=("$*")
}

# name  file  original text  mutated text  test filters (the tests expected to catch it)
mutant option-outer-limit src/domain/actions.rs \
    '&& new_end > limit' '&& new_end > limit && false' \
    lib:domain::actions api:actions::
mutant option-sequence src/domain/actions.rs \
    'if next.seq != seq {' 'if false && next.seq != seq {' \
    lib:domain::actions api:actions::
mutant option-needs-active src/domain/actions.rs \
    'if a.status == AgreementStatus::Active {' 'if true {' \
    lib:domain::actions
mutant notice-shortens-term src/domain/actions.rs \
    'a.period.current_end.min(end)' 'a.period.current_end.max(end)' \
    api:notice_gives_an_effective_end
mutant status-final src/domain/codes.rs \
    'Expired | Terminated | Cancelled => &[],' 'Expired | Terminated | Cancelled => &[Active],' \
    api:an_illegal_transition_lists
mutant outer-limit-rule src/domain/rules.rs \
    'if p.current_end > limit {' 'if false && p.current_end > limit {' \
    lib:domain::rules
mutant options-sequential-rule src/domain/rules.rs \
    'if o.state == OptionState::Exercised && !previous_exercised {' 'if false {' \
    lib:domain::rules
mutant implied-outer-limit src/domain/agreement.rs \
    'Some(r) => r.max_renewals? * r.months,' 'Some(r) => r.max_renewals.unwrap_or(0) * r.months,' \
    lib:domain::agreement
mutant renewal-deadline-from-original-end src/domain/agreement.rs \
    $'self.period.current_end,\n            -(r.notice_months as i32),' \
    $'self.period.original_end,\n            -(r.notice_months as i32),' \
    lib:domain::agreement lib:domain::deadlines
mutant renewal-deadline-after-last-renewal src/domain/agreement.rs \
    'r.renewals_done >= m' 'r.renewals_done > m' \
    lib:domain::agreement lib:domain::deadlines
mutant notice-month-end src/domain/agreement.rs \
    'NoticeEffect::MonthEnd => last_day_of_month(end),' 'NoticeEffect::MonthEnd => end,' \
    api:notice_gives_an_effective_end
mutant month-end-anchoring src/domain/dates.rs \
    'if is_last_day_of_month(date) {' 'if false {' \
    lib:domain::dates lib:domain::agreement
mutant reminder-on-business-day src/domain/dates.rs \
    'd = d.pred_opt().unwrap_or(d);' 'd = d.succ_opt().unwrap_or(d);' \
    lib:domain::dates lib:domain::deadlines
mutant org-number-check-digit src/domain/org_number.rs \
    'if expected != d[9] {' 'if false && expected != d[9] {' \
    lib:domain::org_number
mutant officer-edits-any-agreement src/domain/access.rs \
    'Role::Officer => self.org.as_ref().is_some_and(|o| {' 'Role::Officer => true || self.org.as_ref().is_some_and(|o| {' \
    lib:domain::access
mutant enterprise-lists-every-agreement src/registry/agreements.rs \
    '.filter(|p| p.role == Role::Enterprise)' '.filter(|p| p.role == Role::Enterprise && false)' \
    api:access::
mutant enterprise-reads-any-agreement src/registry/agreements.rs \
    'Some(p) if !p.may_read(a) => Err(StoreError::NotFound {' 'Some(p) if false && !p.may_read(a) => Err(StoreError::NotFound {' \
    api:access::
mutant officer-documents-any-agreement src/registry/documents.rs \
    '.ensure_may_edit(&stored.data)' '.ensure_may_read(&stored.data)' \
    api:access::
mutant officer-changes-any-agreement src/registry/agreements.rs \
    'Some(p) if !p.may_edit(a) => Err(RegistryError::Forbidden(format!(' 'Some(p) if false && !p.may_edit(a) => Err(RegistryError::Forbidden(format!(' \
    api:access::
mutant outbox-dedupe src/db/outbox.rs \
    'OnConflict::column(outbox::Column::DedupeKey)' 'OnConflict::column(outbox::Column::Id)' \
    api:mail::
mutant page-h1-title-safe templates/web/agreement.html \
    '<h1>{{ a.title }}</h1>' '<h1>{{ a.title | safe }}</h1>' \
    api:a_title_with_markup_is_escaped_in_the_agreement_page
mutant page-head-title-safe templates/web/agreement.html \
    '{{ a.reference }} {{ a.title }}{% endblock title %}' '{{ a.reference }} {{ a.title | safe }}{% endblock title %}' \
    api:a_title_with_markup_is_escaped_in_the_agreement_page
mutant email-title-safe templates/emails/layout.html \
    '{{ reference }} – {{ title }}</td>' '{{ reference }} – {{ title | safe }}</td>' \
    api:a_title_with_markup_is_escaped_in_the_reminders
mutant document-title-as-markup contracts/common/avtal.typ \
    'weight: "bold", data.title))' 'weight: "bold", eval(data.title, mode: "markup")))' \
    api:documents::known_hostile

if [[ "${1:-}" == "--list" ]]; then
    for i in "${!names[@]}"; do printf '%-36s %s\n' "${names[$i]}" "${files[$i]}"; done
    exit 0
fi

root=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
scratch=${MUTANTS_DIR:-$(mktemp -d /tmp/avtal-mutants.XXXXXX)}
tree="$scratch/tree"
log="$scratch/log"
mkdir -p "$tree" "$log"
# The tracked files as they are in the worktree (uncommitted edits included), with fresh
# modification times so the first build cannot take older artifacts for current.
(cd "$root" && git ls-files -z | rsync -rl --from0 --files-from=- ./ "$tree/")
source_target=${CARGO_TARGET_DIR:-$root/target}
export CARGO_TARGET_DIR=${MUTANTS_TARGET_DIR:-${source_target%/}-mutants}
if [[ ! -d "$CARGO_TARGET_DIR" && -d "$source_target" ]]; then
    cp -a "$source_target" "$CARGO_TARGET_DIR"
fi
# The OCDS tests read ../shared beside the tree.
[[ -e "$scratch/shared" || ! -d "$root/../shared" ]] || ln -s "$(cd "$root/../shared" && pwd)" "$scratch/shared"
export CI=true
echo "mutation check in $tree (target $CARGO_TARGET_DIR, logs in $log)"

# Runs the filtered tests in the scratch tree; returns non-zero when a test fails. Prints the
# failing tests' names to the file $2.
run_tests() {
    local out="$1" failed="$2" status=0 f filter target
    shift 2
    : >"$failed"
    rm -f "$failed.none"
    for f in "$@"; do
        filter=${f#*:}
        case ${f%%:*} in
            lib) target=(--lib) ;;
            api) target=(--test api) ;;
            *) echo "bad filter $f" >&2; return 2 ;;
        esac
        if ! (cd "$tree" && timeout 1800 cargo test --locked "${target[@]}" -- "$filter") >"$out.run" 2>&1; then
            status=1
        fi
        cat "$out.run" >>"$out"
        # A filter that matches no test proves nothing.
        if [[ $status -eq 0 ]] && ! grep -qE '^running [1-9]' "$out.run"; then
            echo "filter $f matches no test" >>"$failed.none"
            status=3
        fi
    done
    rm -f "$out.run"
    grep -E '^test .* \.\.\. FAILED$' "$out" | sed -E 's/^test (.*) \.\.\. FAILED$/\1/' >"$failed" || true
    return $status
}

# Builds the test targets that filters $2... need; non-zero when the mutant does not compile.
build() {
    local out="$1" targets=()
    shift
    [[ " $* " == *" lib:"* ]] && targets+=(--lib)
    [[ " $* " == *" api:"* ]] && targets+=(--test api)
    (cd "$tree" && cargo test --locked "${targets[@]}" --no-run) >>"$out" 2>&1
}

# Replaces the one occurrence of $2 in file $1 by $3; fails when it is not there exactly once.
replace_once() {
    OLD="$2" NEW="$3" perl -0777 -i -ne '
        my $n = () = /\Q$ENV{OLD}\E/g;
        if ($n != 1) { print; print STDERR "found $n times\n"; exit 3 }
        s/\Q$ENV{OLD}\E/$ENV{NEW}/; print;' "$1"
}

selected=("$@")
wanted() {
    [[ ${#selected[@]} -eq 0 ]] && return 0
    local s
    for s in "${selected[@]}"; do [[ "$s" == "$1" ]] && return 0; done
    return 1
}

if [[ -z "${MUTANTS_SKIP_BASELINE:-}" ]]; then
    all=()
    for i in "${!names[@]}"; do
        wanted "${names[$i]}" || continue
        read -r -a fs <<<"${filters[$i]}"
        all+=("${fs[@]}")
    done
    mapfile -t all < <(printf '%s\n' "${all[@]}" | sort -u)
    if ! build "$log/baseline" "${all[@]}" || ! run_tests "$log/baseline" "$log/baseline.failed" "${all[@]}"; then
        echo "baseline: the unchanged tree fails its tests (see $log/baseline):" >&2
        cat "$log/baseline.failed" "$log/baseline.failed.none" >&2 2>/dev/null || true
        exit 1
    fi
    echo "baseline: every selected test passes on the unchanged tree"
fi

caught=0 survived=0 stale=0 broken=0 notests=0 total=0
for i in "${!names[@]}"; do
    name=${names[$i]} file=${files[$i]}
    wanted "$name" || continue
    total=$((total + 1))
    read -r -a fs <<<"${filters[$i]}"
    out="$log/$name" failed="$log/$name.failed"
    : >"$out"
    cp "$tree/$file" "$scratch/original"
    if ! replace_once "$tree/$file" "${olds[$i]}" "${news[$i]}" 2>>"$out"; then
        printf '%-9s %-36s %s: the original text is not there once\n' stale "$name" "$file"
        stale=$((stale + 1))
        continue
    fi
    start=$SECONDS
    if ! build "$out" "${fs[@]}"; then
        result=unbuilt
        broken=$((broken + 1))
    elif run_tests "$out" "$failed" "${fs[@]}"; then
        result=SURVIVED
        survived=$((survived + 1))
    elif [[ -s "$failed" ]]; then
        result=caught
        caught=$((caught + 1))
    else
        # No test failed, yet the run did not pass: a filter ran no test, or cargo itself broke.
        result=unclear
        notests=$((notests + 1))
    fi
    cp "$scratch/original" "$tree/$file"
    by=$(head -n 3 "$failed" 2>/dev/null | paste -sd ' ' -)
    printf '%-9s %-36s %s (%ss)%s\n' "$result" "$name" "$file" $((SECONDS - start)) "${by:+ by $by}"
done
echo "mutation: $total mutants, $caught caught, $survived survived, $stale stale, $broken did not build, $notests unclear (a filter ran no test, or cargo broke)"
[[ $caught -eq $total ]]
