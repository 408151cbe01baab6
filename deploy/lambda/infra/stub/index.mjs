// Stands in for a bundle that `npm run build:lambda` has not built yet, so synth works without it.
export const handler = async () => {
  throw new Error("This function was deployed without its bundle: run `npm run build:lambda` before synth")
}
