// app.js - sample module for the aim demo (badly formatted, one unused variable)
export function total(values){
  const unused = 42
    let sum=0;
  for (const v of values) { sum+=v }
      return sum
}

export function label(n) { return n===1 ? "one item" : `${n} items` }
