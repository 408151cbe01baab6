/**
 * `npm run synth:k8s`: writes deploy/k8s/dist/<environment>/<phase>.k8s.yaml for every
 * environment, offline (no cluster, no registry). The phases are applied in file-name order,
 * waiting for the migration Job in between (see chart.ts). IMAGE_TAG, when set, replaces the
 * environments' image tag (the pipeline passes the tag it just pushed).
 */
import { App, Yaml } from "cdk8s"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { releasePhase, SerenyaChart } from "./chart.js"
import { environments } from "./environments.js"

const outdir = path.join(path.dirname(fileURLToPath(import.meta.url)), "dist")
const imageTag = process.env.IMAGE_TAG?.trim()

const app = new App({ outdir })
fs.rmSync(outdir, { recursive: true, force: true })
for (const base of Object.values(environments)) {
  const settings = imageTag ? { ...base, image: { ...base.image, tag: imageTag } } : base
  const objects: Array<{ kind: string }> = new SerenyaChart(app, settings.name, settings).toJson()
  const dir = path.join(outdir, settings.name)
  fs.mkdirSync(dir, { recursive: true })
  for (const phase of [...new Set(objects.map((o) => releasePhase(o.kind)))].sort()) {
    Yaml.save(path.join(dir, `${phase}.k8s.yaml`), objects.filter((o) => releasePhase(o.kind) === phase))
  }
}
process.stdout.write(`manifests written to ${path.relative(process.cwd(), outdir)}/\n`)
