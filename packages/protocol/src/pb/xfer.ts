import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface XferMessage {
  type: XferMessage.Type
  root: Uint8Array<ArrayBuffer>
  index?: number
  data: Uint8Array<ArrayBuffer>
  message: string
  peers: string[]
  count?: number
}

export namespace XferMessage {
  export enum Type {
    UNKNOWN = 'UNKNOWN',
    HELLO = 'HELLO',
    HAVE_ALL = 'HAVE_ALL',
    BITFIELD = 'BITFIELD',
    HAVE = 'HAVE',
    REQUEST = 'REQUEST',
    BLOCK = 'BLOCK',
    CANCEL = 'CANCEL',
    NOT_FOUND = 'NOT_FOUND',
    ERROR = 'ERROR',
    PEERS = 'PEERS'
  }

  enum __TypeValues {
    UNKNOWN = 0,
    HELLO = 1,
    HAVE_ALL = 2,
    BITFIELD = 3,
    HAVE = 4,
    REQUEST = 5,
    BLOCK = 6,
    CANCEL = 7,
    NOT_FOUND = 8,
    ERROR = 9,
    PEERS = 10
  }

  export namespace Type {
    export const codec = (): Codec<Type> => {
      return enumeration<Type>(__TypeValues)
    }
  }

  let _codec: Codec<XferMessage>

  export const codec = (): Codec<XferMessage> => {
    if (_codec == null) {
      _codec = message<XferMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.type != null && __TypeValues[obj.type] !== 0) {
          w.uint32(8)
          XferMessage.Type.codec().encode(obj.type, w)
        }

        if ((obj.root != null && obj.root.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.root)
        }

        if (obj.index != null) {
          w.uint32(24)
          w.uint32(obj.index)
        }

        if ((obj.data != null && obj.data.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.data)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(42)
          w.string(obj.message)
        }

        if (obj.peers != null && obj.peers.length > 0) {
          for (const value of obj.peers) {
            w.uint32(50)
            w.string(value)
          }
        }

        if (obj.count != null) {
          w.uint32(56)
          w.uint32(obj.count)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          type: Type.UNKNOWN,
          root: uint8ArrayAlloc(0),
          data: uint8ArrayAlloc(0),
          message: '',
          peers: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.type = XferMessage.Type.codec().decode(reader)
              break
            }
            case 2: {
              obj.root = reader.bytes()
              break
            }
            case 3: {
              obj.index = reader.uint32()
              break
            }
            case 4: {
              obj.data = reader.bytes()
              break
            }
            case 5: {
              obj.message = reader.string()
              break
            }
            case 6: {
              if (opts.limits?.peers != null && obj.peers.length === opts.limits.peers) {
                throw new MaxLengthError('Decode error - repeated field "peers" had too many elements')
              }

              obj.peers.push(reader.string())
              break
            }
            case 7: {
              obj.count = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          peers: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.type`,
                value: XferMessage.Type.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.root`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.index`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.data`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
              }
              break
            }
            case 6: {
              if (opts.limits?.peers != null && obj.peers === opts.limits.peers) {
                throw new MaxLengthError('Streaming decode error - repeated field "peers" had too many elements')
              }

              yield {
                field: `${prefix}.peers[]`,
                index: obj.peers,
                value: reader.string()
              }

              obj.peers++

              break
            }
            case 7: {
              yield {
                field: `${prefix}.count`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface XferMessageTypeFieldEvent {
    field: '$.type'
    value: XferMessage.Type
  }

  export interface XferMessageRootFieldEvent {
    field: '$.root'
    value: Uint8Array<ArrayBuffer>
  }

  export interface XferMessageIndexFieldEvent {
    field: '$.index'
    value: number
  }

  export interface XferMessageDataFieldEvent {
    field: '$.data'
    value: Uint8Array<ArrayBuffer>
  }

  export interface XferMessageMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface XferMessagePeersFieldEvent {
    field: '$.peers[]'
    index: number
    value: string
  }

  export interface XferMessageCountFieldEvent {
    field: '$.count'
    value: number
  }

  export function encode (obj: Partial<XferMessage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, XferMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<XferMessage>): XferMessage {
    return decodeMessage(buf, XferMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<XferMessage>): Generator<XferMessageTypeFieldEvent | XferMessageRootFieldEvent | XferMessageIndexFieldEvent | XferMessageDataFieldEvent | XferMessageMessageFieldEvent | XferMessagePeersFieldEvent | XferMessageCountFieldEvent> {
    return streamMessage(buf, XferMessage.codec(), opts)
  }
}
