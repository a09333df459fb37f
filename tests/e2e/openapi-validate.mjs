// Validates the OpenAPI document in the file given as argument against the OpenAPI schema of
// its version (npm @seriousme/openapi-schema-validator); run by tests/protocols.rs.
// Prints {"valid", "version", "errors"} as JSON; exits 1 when invalid.
import { Validator } from "@seriousme/openapi-schema-validator";

const validator = new Validator();
const res = await validator.validate(process.argv[2]);
console.log(JSON.stringify({ valid: res.valid, version: validator.version, errors: res.errors ?? null }));
process.exit(res.valid ? 0 : 1);
