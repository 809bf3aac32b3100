"""tools/check_feature_set.py: which units a build adds, and the fix it names."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import check_feature_set as cfs  # noqa: E402


def message(name, features, *files):
    return json.dumps(
        {
            "reason": "compiler-artifact",
            "target": {"name": name},
            "features": list(features),
            "filenames": list(files),
        }
    )


class ArtifactsTest(unittest.TestCase):
    def test_a_member_rlib_copied_out_of_deps_is_the_same_unit(self):
        test = cfs.artifacts([message("policy", [], "/t/debug/deps/libpolicy-aa.rlib", "/t/debug/deps/libpolicy-aa.rmeta")])
        build = cfs.artifacts([message("policy", [], "/t/debug/libpolicy.rlib", "/t/debug/deps/libpolicy-aa.rmeta")])
        self.assertEqual(cfs.drift(test, build), [])

    def test_other_messages_and_noise_are_ignored(self):
        found = cfs.artifacts(["not json", json.dumps({"reason": "build-finished"}), ""])
        self.assertEqual(found, {})


class DriftTest(unittest.TestCase):
    def test_names_the_package_and_the_missing_features_first(self):
        test = cfs.artifacts(
            [
                message("serde_core", ["default", "std"], "/d/deps/libserde_core-aa.rlib"),
                message("serde_json", ["std"], "/d/deps/libserde_json-bb.rlib"),
            ]
        )
        cli = cfs.artifacts(
            [
                message("serde_json", ["std"], "/d/deps/libserde_json-cc.rlib"),
                message("serde_core", ["std"], "/d/deps/libserde_core-dd.rlib"),
            ]
        )
        self.assertEqual(
            cfs.drift(test, cli),
            [
                "serde_core: features [std]; the test build adds [default]",
                "serde_json: same features, a dependency differs",
            ],
        )

    def test_a_package_the_tests_never_build_is_reported(self):
        cli = cfs.artifacts([message("only_cli", [], "/d/deps/libonly_cli-aa.rlib")])
        self.assertEqual(cfs.drift({}, cli), ["only_cli: not in the tests' build"])


if __name__ == "__main__":
    unittest.main()
