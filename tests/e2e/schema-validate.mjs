// Judges instances against schemas of an OpenAPI 3.1 document with Ajv (npm `ajv`, JSON Schema
// 2020-12, the dialect of OpenAPI 3.1); run by tests/protocols.rs to check that the documented
// request bodies and answers describe what the server accepts and writes.
// stdin: {"document": {...}, "cases": [{"pointer": "/paths/...", "instance": ...}, ...]}
// stdout: one {"valid", "errors"} per case, as a JSON array.
import Ajv2020 from "ajv/dist/2020.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { document, cases } = JSON.parse(input);
// Not strict: the document holds OpenAPI members beside its schemas.
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(document, "openapi");
const verdicts = cases.map(({ pointer, instance }) => {
  const ref = "openapi#" + pointer;
  const validate = ajv.compile({ $ref: ref });
  const valid = validate(instance);
  return { valid, errors: valid ? null : validate.errors };
});
console.log(JSON.stringify(verdicts));
