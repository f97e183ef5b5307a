import { describe, expect, it } from 'vitest'

import { splitSignature } from '../splitBody'

describe('splitSignature', () => {
  it('cuts at the "-- " line', () => {
    expect(splitSignature('Hello,\nit broke.\n\n-- \nPat Doe\nAcme Inc.')).toEqual({
      text: 'Hello,\nit broke.',
      signature: 'Pat Doe\nAcme Inc.',
    })
  })

  it('folds "Sent from my ..." at the end, but not the words in the text', () => {
    expect(splitSignature('Call me back.\n\nSent from my iPhone')).toEqual({
      text: 'Call me back.',
      signature: 'Sent from my iPhone',
    })
    const inText = 'Sent from my office, the parcel never came.\nLine two\nLine three\nLine four'
    expect(splitSignature(inText)).toEqual({ text: inText, signature: null })
  })

  it('leaves a message that is nothing but a signature, or has none, as it is', () => {
    expect(splitSignature('-- \nPat')).toEqual({ text: '-- \nPat', signature: null })
    expect(splitSignature('Just text\n')).toEqual({ text: 'Just text', signature: null })
    expect(splitSignature('a -- b')).toEqual({ text: 'a -- b', signature: null })
  })
})
